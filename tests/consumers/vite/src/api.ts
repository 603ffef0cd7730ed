// Type-checked only (tsc --strict, skipLibCheck false), never bundled: every public name of the
// package used once with its declared types, so a typing that regresses to `any` or stops
// compiling fails the consumer test.
import webrtcDefault, {
  configure, ready, webrtcService, websocketService,
  WebRtcService, SignalingClient, SfuClient,
  type VoiceParticipant, type WebRTCConfig, type ConnectionQuality, type VoiceError,
  type CallState, type MigrationEvent, type CallMode,
} from 'sohbet-rtc';

export async function everything(stream: MediaStream, track: MediaStreamTrack): Promise<void> {
  const same: typeof webrtcService = webrtcDefault;
  await ready();
  configure({ wsUrl: 'ws://127.0.0.1:8081', token: 't', iceServers: [{ urls: 'stun:127.0.0.1:3478' }] });
  same.onParticipantUpdate((list: VoiceParticipant[]) => list.map((p) => p.userId + p.audioLevel));
  webrtcService.onRemoteStream((userId: number, s: MediaStream) => s.getTracks().length + userId);
  webrtcService.onConnectionQuality((q: ConnectionQuality) => q === 'good');
  webrtcService.onStatus((text: string) => text.length);
  webrtcService.onModeChange((mode: CallMode) => mode === 'sfu');
  webrtcService.onMigration((m: MigrationEvent) => m);
  webrtcService.onError((e: VoiceError) => e.code.length);
  await webrtcService.joinChannel(1, 2, true);
  const muted: boolean = webrtcService.toggleMute();
  const video: boolean = await webrtcService.toggleVideo();
  const mode: CallMode = webrtcService.getCurrentMode();
  webrtcService.setParticipantVolume(2, 0.5);
  const volume: number = webrtcService.getParticipantVolume(2);
  webrtcService.setLocalStream(stream);
  webrtcService.leaveChannel();
  const connected: boolean = websocketService.isConnected();
  const sent: boolean = websocketService.send('chat:typing', { conversation_id: 1, user_id: 2, username: 'a' });

  const signaling = new SignalingClient('ws://127.0.0.1:8081');
  await signaling.connect('token');
  const config: Partial<WebRTCConfig> = { iceServers: [], useServerIceServers: false };
  const service = WebRtcService.overClient(signaling, config);
  await service.joinChannel(1, 2);
  const state: CallState = service.state();
  const participants: VoiceParticipant[] = service.getParticipants();
  service.free();
  const sfu = new SfuClient({ singlePeerConnection: true, iceServers: [] });
  await sfu.connect('ws://127.0.0.1:7880', 'token');
  const sid: string = await sfu.publish(track);
  const stats = sfu.stats();
  const open: number = stats.openPeerConnections + sfu.participants().length;
  await sfu.leave();
  void [muted, video, mode, volume, connected, sent, state, participants, sid, open];
}
