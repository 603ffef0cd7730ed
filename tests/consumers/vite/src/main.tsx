// The Vite app: the shared call component under StrictMode.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import Call from '../shared/call';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Call />
  </StrictMode>,
);
