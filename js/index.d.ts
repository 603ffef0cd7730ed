// Types of the sohbet-rtc npm entry (js/index.js): the drop-in `webrtcService` and
// `websocketService` singletons (compat-spec §1 and §2.1) plus the wasm-bindgen classes.

export { WebRtcService, SignalingClient } from './sohbet_rtc.js';

// Defined by index.js on SignalingClient's prototype (over `send`).
declare module './sohbet_rtc.js' {
  interface SignalingClient {
    sendChatMessage(conversationId: number, content: string): boolean;
    sendTypingIndicator(conversationId: number): boolean;
  }
}

// VoiceParticipant, WebRTCConfig, ConnectionQuality, VoiceError and CallState are declared once, next to
// the Rust code that produces them (src/facade/convert.rs), and re-exported here.
import type {
  VoiceParticipant, WebRTCConfig, ConnectionQuality, VoiceError, VoiceErrorCode, CallState, MigrationEvent,
  ConnectionState, LogLevel,
} from './sohbet_rtc.js';
export type {
  VoiceParticipant, WebRTCConfig, ConnectionQuality, VoiceError, VoiceErrorCode, CallState, MigrationEvent,
  ConnectionState, LogLevel,
};

export type CallMode = CallState['mode'];

/** A JS `Error` the library rejects with: its `code` is one of {@link VoiceErrorCode}. */
export interface VoiceCallError extends Error {
  code: VoiceErrorCode;
}

/** The events of `webrtcService.on(type, handler)`: each handler's arguments. */
export interface VoiceEventMap {
  participants: [participants: VoiceParticipant[]];
  remoteStream: [userId: number, stream: MediaStream];
  quality: [quality: ConnectionQuality];
  status: [status: string];
  mode: [mode: CallMode];
  migration: [migration: MigrationEvent];
  /** A problem that does not end the call (malformed signalling, a refused frame…). */
  error: [error: VoiceError];
  /** Only changes are reported. */
  connectionState: [state: ConnectionState];
  /** false: the browser blocks the call's audio until `startAudio()` runs from a click. */
  audioPlayback: [canPlay: boolean];
}

export type VoiceEvent = keyof VoiceEventMap;

/** The part of the app's websocketService the voice engine needs (P17: share ONE socket). */
export interface VoiceSocket {
  on(type: string, handler: (message: WebSocketMessage) => void): void;
  off(type: string, handler: (message: WebSocketMessage) => void): void;
  send(type: string, payload: unknown): boolean;
  isConnected?(): boolean;
  onConnectionChange?(listener: (connected: boolean) => void): () => void;
}

export interface ConfigureOptions {
  /** The app's own websocketService; without it the package's `websocketService` is used. */
  socket?: VoiceSocket | null;
  /** Base URL of the package's socket (default: NEXT_PUBLIC_WS_URL, else ws(s)://<page host>:8081). */
  wsUrl?: string | null;
  /** Login JWT for the package's socket (joinChannel connects with it if needed). */
  token?: string | null;
  iceServers?: RTCIceServer[];
  livekitUrl?: string;
}

export interface WebRTCServiceApi {
  /** Rejects with Error('Failed to access microphone/camera. Please grant permissions.') on capture failure. */
  joinChannel(channelId: number, userId: number, audioOnly?: boolean): Promise<void>;
  /** Idempotent. */
  leaveChannel(): void;
  getLocalStream(): MediaStream | null;
  toggleMute(): boolean;
  toggleVideo(): Promise<boolean>;
  toggleDeafen(): boolean;
  isMutedStatus(): boolean;
  isVideoEnabledStatus(): boolean;
  isDeafenedStatus(): boolean;
  setParticipantVolume(userId: number, volume: number): void;
  getParticipantVolume(userId: number): number;
  getParticipants(): VoiceParticipant[];
  /** Single slot: a new registration replaces the previous one. */
  onParticipantUpdate(callback: (participants: VoiceParticipant[]) => void): void;
  onRemoteStream(callback: (userId: number, stream: MediaStream) => void): void;
  onConnectionQuality(callback: (quality: ConnectionQuality) => void): void;
  // Extras
  getCurrentMode(): CallMode;
  onStatus(callback: (status: string) => void): void;
  /** The call's mode changed (single slot). */
  onModeChange(callback: (mode: CallMode) => void): void;
  /** A migration between the mesh and the SFU finished (single slot). */
  onMigration(callback: (migration: MigrationEvent) => void): void;
  onError(callback: (error: VoiceError) => void): void;
  /** Any number of listeners per event; returns the function that removes this one. */
  on<K extends VoiceEvent>(type: K, handler: (...args: VoiceEventMap[K]) => void): () => void;
  getConnectionState(): ConnectionState;
  /** False while the browser's autoplay policy keeps the call silent. */
  canPlayAudio(): boolean;
  /** Starts the call's audio: call it from a user gesture (a click handler). */
  startAudio(): Promise<void>;
  setLocalStream(stream: MediaStream | null): void;
  configure(options: ConfigureOptions): void;
  /** Leaves the call and releases the wasm service. */
  dispose(): void;
}

export type WebSocketMessageType =
  | 'chat:send' | 'chat:message' | 'chat:typing' | 'user:online' | 'user:offline'
  | 'voice:join' | 'voice:leave' | 'voice:offer' | 'voice:answer' | 'voice:ice-candidate'
  | 'voice:mute' | 'voice:video-toggle' | 'voice:user-joined' | 'voice:user-left'
  | 'voice:participants' | 'voice:user-muted' | 'voice:user-video-toggled'
  | 'voice:mode-change' | 'voice:mode-change-ack' | 'voice:rollback' | 'voice:join-ready'
  | 'voice:degraded-mode' | 'voice:error';

export interface ChatMessagePayload {
  id?: number;
  conversation_id: number;
  sender_id: number;
  content: string;
  created_at?: string;
}

export interface TypingPayload {
  conversation_id: number;
  user_id: number;
  username: string;
}

export interface UserStatusPayload {
  user_id: number;
  username?: string;
}

export type MessagePayload = ChatMessagePayload | TypingPayload | UserStatusPayload | Record<string, unknown>;

export interface WebSocketMessage {
  type: WebSocketMessageType | string;
  payload: MessagePayload;
}

export type MessageHandler = (message: WebSocketMessage) => void;

export interface WebSocketServiceApi {
  connect(token: string): Promise<void>;
  send(type: WebSocketMessageType | string, payload: MessagePayload): boolean;
  on(type: WebSocketMessageType | string, handler: MessageHandler): void;
  off(type: WebSocketMessageType | string, handler: MessageHandler): void;
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  isConnected(): boolean;
  disconnect(): void;
  sendChatMessage(conversationId: number, content: string): boolean;
  sendTypingIndicator(conversationId: number): boolean;
}

export declare const webrtcService: WebRTCServiceApi;
export declare const websocketService: WebSocketServiceApi;
export declare function configure(options: ConfigureOptions): void;
/** How much the library logs to the console (default 'warn': warnings and errors only). */
export declare function setLogLevel(level: LogLevel): void;
/** Initialises the wasm module once (optional: it happens on first need anyway). */
export declare function ready(moduleOrPath?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;
export default webrtcService;
