// How loud each remote user's stream is at this page: the loudest 20 ms RMS (dBFS) seen in
// the last two seconds (the fake microphone beeps, so a moment's silence means nothing).
// Browser-only: everything starts on the first stream.
let ctx: AudioContext | null = null;
const analysers = new Map<number, AnalyserNode>();
const elements: HTMLAudioElement[] = [];
const peaks = new Map<number, { db: number; at: number }[]>();

function sample() {
  const now = performance.now();
  const buf = new Float32Array(1024);
  for (const [userId, analyser] of analysers) {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    const db = 10 * Math.log10(sum / buf.length + 1e-12);
    const list = (peaks.get(userId) ?? []).filter((p) => now - p.at < 2000);
    list.push({ db, at: now });
    peaks.set(userId, list);
  }
}

export function listen(userId: number, stream: MediaStream) {
  if (!stream.getAudioTracks().length) return;
  if (!ctx) {
    ctx = new AudioContext();
    setInterval(sample, 20);
  }
  // A remote WebRTC stream is silent in WebAudio unless a media element plays it too.
  const element = new Audio();
  element.muted = true;
  element.srcObject = stream;
  void element.play().catch(() => {});
  elements.push(element);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(stream).connect(analyser);
  analysers.set(userId, analyser);
}

/** The loudest level (dBFS) of each remote user in the last two seconds. */
export function loudness(): Record<number, number> {
  void ctx?.resume();
  const out: Record<number, number> = {};
  for (const [userId, list] of peaks) out[userId] = Math.max(...list.map((p) => p.db));
  return out;
}
