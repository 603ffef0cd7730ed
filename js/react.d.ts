// Types of `sohbet-rtc/react` (js/react.js): the `useVoiceCall()` hook.
import type { VoiceParticipant, CallMode, ConnectionState, VoiceError } from './index.js';

/** What `useVoiceCall()` returns: a snapshot of the call plus stable actions. */
export interface VoiceCall {
  participants: readonly VoiceParticipant[];
  mode: CallMode;
  /** The last status text ('' before any). */
  status: string;
  connectionState: ConnectionState;
  muted: boolean;
  deafened: boolean;
  videoEnabled: boolean;
  /** False while the browser blocks the call's audio: call `startAudio()` from a click. */
  canPlayAudio: boolean;
  /** The last problem reported by the call (it goes on), or null. */
  error: VoiceError | null;
  join(channelId: number, userId: number, audioOnly?: boolean): Promise<void>;
  leave(): void;
  toggleMute(): boolean;
  toggleDeafen(): boolean;
  toggleVideo(): Promise<boolean>;
  startAudio(): Promise<void>;
  setParticipantVolume(userId: number, volume: number): void;
}

/** The voice call for a React component (useSyncExternalStore; StrictMode-safe, SSR-safe). */
export declare function useVoiceCall(): VoiceCall;
