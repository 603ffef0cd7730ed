// Type-checked only (tsc --strict, skipLibCheck false), never bundled: every public name of the
// package used once with its declared types, so a typing that regresses to `any` or stops
// compiling fails the consumer test.
import webrtcDefault, {
  configure, ready, setLogLevel, webrtcService, websocketService,
  WebRtcService, SignalingClient,
  type VoiceParticipant, type WebRTCConfig, type ConnectionQuality, type VoiceError,
  type VoiceErrorCode, type VoiceCallError, type CallState, type MigrationEvent, type CallMode,
  type ConnectionState, type LogLevel, type VoiceEventMap,
} from 'sohbet-rtc';
import { useVoiceCall, type VoiceCall } from 'sohbet-rtc/react';

export async function everything(stream: MediaStream): Promise<void> {
  const same: typeof webrtcService = webrtcDefault;
  await ready();
  const level: LogLevel = 'debug';
  setLogLevel(level);
  configure({ wsUrl: 'ws://127.0.0.1:8081', token: 't', iceServers: [{ urls: 'stun:127.0.0.1:3478' }] });
  same.onParticipantUpdate((list: VoiceParticipant[]) => list.map((p) => p.userId + p.audioLevel));
  webrtcService.onRemoteStream((userId: number, s: MediaStream) => s.getTracks().length + userId);
  webrtcService.onConnectionQuality((q: ConnectionQuality) => q === 'good');
  webrtcService.onStatus((text: string) => text.length);
  webrtcService.onModeChange((mode: CallMode) => mode === 'sfu');
  webrtcService.onMigration((m: MigrationEvent) => m);
  webrtcService.onError((e: VoiceError) => e.code.length);
  // The typed event map: each handler's arguments follow from the event's name.
  const offs: Array<() => void> = [
    webrtcService.on('participants', (list: VoiceParticipant[]) => list.length),
    webrtcService.on('remoteStream', (userId: number, s: MediaStream) => userId + s.id.length),
    webrtcService.on('connectionState', (s: ConnectionState) => s === 'reconnecting'),
    webrtcService.on('audioPlayback', (canPlay: boolean) => canPlay),
    webrtcService.on('error', (e: VoiceError) => {
      const code: VoiceErrorCode = e.code;
      return code === 'media/permission-denied' || code.startsWith('server/');
    }),
  ];
  const args: VoiceEventMap['migration'] = [{ strategy: 'hard', direction: 'p2p-to-sfu', outcome: 'completed', durationMs: 1, attempts: 1, voiceSwitchMs: [] }];
  try {
    await webrtcService.joinChannel(1, 2, true);
  } catch (e) {
    const code: VoiceErrorCode = (e as VoiceCallError).code;
    void code;
  }
  const state: ConnectionState = webrtcService.getConnectionState();
  if (!webrtcService.canPlayAudio()) await webrtcService.startAudio();
  const muted: boolean = webrtcService.toggleMute();
  const video: boolean = await webrtcService.toggleVideo();
  const mode: CallMode = webrtcService.getCurrentMode();
  webrtcService.setParticipantVolume(2, 0.5);
  const volume: number = webrtcService.getParticipantVolume(2);
  webrtcService.setLocalStream(stream);
  webrtcService.leaveChannel();
  for (const off of offs) off();
  const connected: boolean = websocketService.isConnected();
  const sent: boolean = websocketService.send('chat:typing', { conversation_id: 1, user_id: 2, username: 'a' });

  const signaling = new SignalingClient('ws://127.0.0.1:8081');
  await signaling.connect('token');
  const config: Partial<WebRTCConfig> = { iceServers: [], useServerIceServers: false };
  const service = WebRtcService.overClient(signaling, config);
  await service.joinChannel(1, 2);
  const callState: CallState = service.state();
  const playing: boolean = callState.canPlayAudio && callState.connectionState === 'connected';
  await service.startAudio();
  const participants: VoiceParticipant[] = service.getParticipants();
  service.free();
  void [args, state, muted, video, mode, volume, connected, sent, playing, participants];
}

/** The hook's return type, field by field. */
export function UsesTheHook(): string {
  const call: VoiceCall = useVoiceCall();
  const list: readonly VoiceParticipant[] = call.participants;
  const state: ConnectionState = call.connectionState;
  const error: VoiceError | null = call.error;
  const toggled: boolean = call.muted || call.deafened || call.videoEnabled || !call.canPlayAudio;
  void [call.join(1, 2), call.toggleMute(), call.toggleDeafen(), call.toggleVideo(), call.startAudio(), call.leave()];
  call.setParticipantVolume(2, 1);
  return `${list.length} ${state} ${error?.code ?? ''} ${toggled} ${call.mode} ${call.status}`;
}
