'use client';
// The consumer apps' call component (copied into each app by tests/e2e/consumers.mjs): joins
// the call named in the URL (?ws=&token=&user=&channel=) through the package's drop-in
// singletons, the way the Sohbet app does, lists the participants and shows how loud each
// remote stream is at this page (for the test driving it).
import { useEffect, useState } from 'react';
import { webrtcService, type VoiceParticipant } from 'sohbet-rtc';
import { listen, loudness } from './meter';

declare global {
  interface Window { loudness: typeof loudness }
}

export default function Call() {
  const [participants, setParticipants] = useState<VoiceParticipant[]>([]);
  const [status, setStatus] = useState('joining');
  useEffect(() => {
    const q = new URLSearchParams(location.search);
    window.loudness = loudness;
    webrtcService.configure({ wsUrl: q.get('ws') ?? '', token: q.get('token') ?? '' });
    webrtcService.onParticipantUpdate((list) => setParticipants(list));
    webrtcService.onRemoteStream((userId, stream) => listen(userId, stream));
    webrtcService.onStatus((text) => setStatus(text));
    webrtcService
      .joinChannel(Number(q.get('channel')), Number(q.get('user')))
      .catch((e: Error & { code?: string }) => {
        // StrictMode's double mount cancels the first join (service/join-aborted).
        if (e.code !== 'service/join-aborted') setStatus(`error ${e.code}: ${e.message}`);
      });
    return () => webrtcService.leaveChannel();
  }, []);
  return (
    <main>
      <p id="status">{status}</p>
      <ul id="participants">
        {participants.map((p) => (
          <li key={p.userId} data-user={p.userId}>{p.username}</li>
        ))}
      </ul>
    </main>
  );
}
