// A small imitation of the OLD TypeScript webrtc-service flow (compat-spec §4), used by
// tests/browser_p2p_legacy.rs to prove that our mesh interoperates with legacy clients.
// It speaks over its own raw WebSocket and keeps the legacy quirks on the SENDING side:
// payloads are sent as JSON strings and every frame carries one extra trailing `}` (what
// the C++ server's greedy regex produces). It offers from both sides at the old timings:
// on voice:user-joined after 0 ms (polite) / 100 ms (impolite), on voice:participants after
// (polite ? 200 : 500) + 150·i ms, plus onnegotiationneeded in stable or have-local-offer.
// Remote audio goes through its own AudioContext into an analyser (and a muted <audio>).

export class LegacyClient {
  constructor(wsUrl, token, userId, freq) {
    this.url = `${wsUrl}/?token=${encodeURIComponent(token)}`;
    this.me = userId;
    this.freq = freq;
    this.pcs = new Map();
    this.queues = new Map();
    this.timers = [];
    this.elements = [];
    this.offers = 0;
    this.rollbacks = 0;
    this.candidatesIn = new Map();
    this.channel = null;
    this.lossyUntil = 0;
  }

  // Test hook: every ICE candidate, sent or received, is lost for the next `ms` (as when the
  // C++ server drops coalesced frames): a connection made in that window cannot connect
  // until an ICE restart gathers new candidates.
  loseCandidatesFor(ms) { this.lossyUntil = performance.now() + ms; }
  lossy() { return performance.now() < this.lossyUntil; }

  async start(channelId) {
    this.channel = channelId;
    this.ctx = new AudioContext();
    const osc = this.ctx.createOscillator();
    osc.frequency.value = this.freq;
    const gain = this.ctx.createGain();
    gain.gain.value = 0.5;
    const dest = this.ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    this.osc = osc;
    this.local = dest.stream;
    this.out = this.ctx.createAnalyser();
    this.out.fftSize = 8192;
    this.out.smoothingTimeConstant = 0;
    await this.ctx.resume();
    this.ws = new WebSocket(this.url);
    await new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error('legacy socket failed'));
    });
    this.ws.onmessage = (e) => this.receive(String(e.data));
    this.send('voice:join', { channel_id: channelId });
  }

  analyser() { return this.out; }
  sampleRate() { return this.ctx.sampleRate; }
  peerCount() { return [...this.pcs.values()].filter((pc) => pc.connectionState !== 'closed').length; }
  // Test hook: the user's page went away without leaving (network gone, laptop lid closed):
  // its connections stop without a word and its socket neither sends nor handles anything
  // more, but stays open, so the server never says voice:user-left. Offers that still reach it
  // are counted (offersWhileVanished).
  vanish() {
    this.vanished = true;
    this.timers.forEach(clearTimeout);
    for (const pc of this.pcs.values()) pc.close();
  }
  offersWhileVanished() { return this.offersIn || 0; }
  offersSent() { return this.offers; }
  // Glares this client resolved by rolling its own offer back: the path that breaks in the
  // real old client ("order of m-lines ... doesn't match", then no more candidates).
  rollbacksMade() { return this.rollbacks; }
  // ICE candidate frames that reached this client from `id` (lost ones never do).
  candidatesFrom(id) { return this.candidatesIn.get(id) || 0; }
  describe() {
    return [...this.pcs.entries()].map(([id, pc]) => `${id}: ${pc.signalingState}/${pc.connectionState}`).join(', ');
  }

  send(type, payload) {
    if (this.vanished) return;
    // Legacy quirks injected at the sender: string payload, trailing brace.
    const text = `{"type":${JSON.stringify(type)},"payload":${JSON.stringify(JSON.stringify(payload))}}}`;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  receive(text) {
    if (this.vanished) {
      if (text.includes('"voice:offer"')) this.offersIn = this.offersWhileVanished() + 1;
      return;
    }
    let msg;
    try { msg = JSON.parse(text); } catch (_) {
      // The legacy brace scanner, reduced: drop trailing garbage until it parses.
      let t = text;
      while (t.length && msg === undefined) {
        t = t.slice(0, -1);
        try { msg = JSON.parse(t); } catch (_) { /* keep trimming */ }
      }
    }
    if (!msg) return;
    let p = msg.payload;
    if (typeof p === 'string') { try { p = JSON.parse(p); } catch (_) { return; } }
    this.handle(msg.type, p).catch(() => {});
  }

  polite(other) { return this.me < other; }

  later(ms, f) { this.timers.push(setTimeout(f, ms)); }

  async handle(type, p) {
    if (type === 'voice:participants') {
      p.participants.forEach((u, i) => {
        this.later((this.polite(u.user_id) ? 200 : 500) + 150 * i, () => this.offer(u.user_id));
      });
    } else if (type === 'voice:user-joined') {
      if (p.channel_id !== this.channel) return;
      this.later(this.polite(p.user_id) ? 0 : 100, () => this.offer(p.user_id));
    } else if (type === 'voice:user-left') {
      const pc = this.pcs.get(p.user_id);
      if (pc) pc.close();
      this.pcs.delete(p.user_id);
    } else if (type === 'voice:offer') {
      const from = p.from_user_id;
      const pc = this.pc(from);
      if (pc.signalingState !== 'stable') {
        if (!this.polite(from)) return;
        if (pc.signalingState === 'have-local-offer') {
          this.rollbacks += 1;
          await pc.setLocalDescription({ type: 'rollback' });
        }
      }
      this.addTracks(pc);
      await pc.setRemoteDescription(p.offer);
      await this.flush(from, pc);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.send('voice:answer', { channel_id: this.channel, target_user_id: from, from_user_id: this.me, answer: pc.localDescription });
    } else if (type === 'voice:answer') {
      const pc = this.pcs.get(p.from_user_id);
      if (pc && pc.signalingState === 'have-local-offer') {
        await pc.setRemoteDescription(p.answer);
        await this.flush(p.from_user_id, pc);
      }
    } else if (type === 'voice:ice-candidate') {
      this.candidatesIn.set(p.from_user_id, this.candidatesFrom(p.from_user_id) + 1);
      const pc = this.pcs.get(p.from_user_id);
      if (!pc || !p.candidate || this.lossy()) return;
      if (pc.remoteDescription) { await pc.addIceCandidate(p.candidate).catch(() => {}); }
      else { (this.queues.get(p.from_user_id) || this.queues.set(p.from_user_id, []).get(p.from_user_id)).push(p.candidate); }
    }
  }

  async flush(id, pc) {
    const q = this.queues.get(id) || [];
    this.queues.delete(id);
    for (const c of q) await pc.addIceCandidate(c).catch(() => {});
  }

  addTracks(pc) {
    const carried = pc.getSenders().map((s) => s.track);
    for (const t of this.local.getTracks()) if (!carried.includes(t)) pc.addTrack(t, this.local);
  }

  pc(id) {
    let pc = this.pcs.get(id);
    if (pc) return pc;
    pc = new RTCPeerConnection({ iceServers: [], iceTransportPolicy: 'all', bundlePolicy: 'max-bundle' });
    pc.onicecandidate = (e) => {
      if (e.candidate && !this.lossy()) this.send('voice:ice-candidate', { channel_id: this.channel, target_user_id: id, from_user_id: this.me, candidate: e.candidate.toJSON() });
    };
    pc.ontrack = (e) => {
      const stream = e.streams[0];
      if (!stream || e.track.kind !== 'audio') return;
      const el = new Audio();
      el.muted = true;
      el.srcObject = stream;
      el.play().catch(() => {});
      this.elements.push(el);
      this.ctx.createMediaStreamSource(stream).connect(this.out);
    };
    pc.onnegotiationneeded = () => {
      if (pc.signalingState === 'stable' || pc.signalingState === 'have-local-offer') this.sendOffer(id, pc);
    };
    this.pcs.set(id, pc);
    return pc;
  }

  offer(id) {
    const pc = this.pc(id);
    if (pc.signalingState !== 'stable') return;
    this.addTracks(pc);
    this.sendOffer(id, pc);
  }

  async sendOffer(id, pc) {
    try {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      this.offers += 1;
      this.send('voice:offer', { channel_id: this.channel, target_user_id: id, from_user_id: this.me, offer: pc.localDescription });
    } catch (_) { /* the legacy client only logged */ }
  }

  close() {
    this.timers.forEach(clearTimeout);
    if (this.ws) { this.send('voice:leave', { channel_id: this.channel }); this.ws.close(); }
    for (const pc of this.pcs.values()) pc.close();
    this.pcs.clear();
    for (const el of this.elements) { el.srcObject = null; el.remove(); }
    if (this.osc) this.osc.stop();
    if (this.ctx) this.ctx.close();
  }
}

// A raw socket for sending hand-made frames.
export class RawSocket {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.ready = new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error('raw socket failed'));
    });
  }
  opened() { return this.ready; }
  send(text) { this.ws.send(text); }
  close() { this.ws.close(); }
}
