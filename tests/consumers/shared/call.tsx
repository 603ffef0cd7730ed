'use client';
// The consumer apps' call component (copied into each app by tests/e2e/consumers.mjs): joins
// the call named in the URL (?ws=&token=&user=&channel=) with the package's React hook
// (`sohbet-rtc/react`) the way an app would (with `&mic=none`, on a stream of its own instead of
// the microphone), lists the participants, shows the connection
// state and an "enable audio" button while the browser blocks playback, and measures how loud
// each remote stream is at this page (for the test driving it). Every state change is also
// logged to the console: the autoplay test reads it without evaluating in the page (an
// evaluation counts as a user gesture).
import { useEffect, useState } from 'react';
import { webrtcService, type VoiceCallError } from 'sohbet-rtc';
import { useVoiceCall } from 'sohbet-rtc/react';
import { listen, loudness } from './meter';

declare global {
  interface Window { loudness: typeof loudness }
}

export default function Call() {
  const call = useVoiceCall();
  const { join, leave, startAudio } = call;
  const [failure, setFailure] = useState('');
  useEffect(() => {
    const q = new URLSearchParams(location.search);
    window.loudness = loudness;
    webrtcService.configure({ wsUrl: q.get('ws') ?? '', token: q.get('token') ?? '' });
    if (q.get('mic') === 'none') {
      // Joins with a stream of its own instead of capturing the microphone: Chromium then keeps
      // its autoplay hold until a user gesture (capturing lifts it; Safari holds either way).
      webrtcService.setLocalStream(new AudioContext().createMediaStreamDestination().stream);
    }
    const offs = [webrtcService.on('remoteStream', (userId, stream) => listen(userId, stream))];
    join(Number(q.get('channel')), Number(q.get('user'))).catch((e: VoiceCallError) => {
      // StrictMode's double mount cancels the first join (service/join-aborted).
      if (e.code !== 'service/join-aborted') setFailure(`error ${e.code}: ${e.message}`);
    });
    return () => {
      for (const off of offs) off();
      leave();
    };
  }, [join, leave]);
  const ids = call.participants.map((p) => p.userId);
  useEffect(() => {
    console.log(`sohbet-state ${JSON.stringify({ connectionState: call.connectionState, canPlayAudio: call.canPlayAudio, participants: ids })}`);
  }, [call.connectionState, call.canPlayAudio, ids.join()]);
  return (
    <main>
      <p id="status">{failure || call.status || 'joining'}</p>
      <p id="connection">{call.connectionState}</p>
      {!call.canPlayAudio && <button id="start-audio" onClick={() => void startAudio()}>Enable audio</button>}
      <ul id="participants">
        {call.participants.map((p) => (
          <li key={p.userId} data-user={p.userId}>{p.username}</li>
        ))}
      </ul>
    </main>
  );
}
