// A server component: the call itself is a client component, whose module (and with it
// 'sohbet-rtc') is also evaluated by the server render.
import Call from '../shared/call';

export default function Page() {
  return <Call />;
}
