//! `SignalSocket`: the LiveKit signal WebSocket (binary protobuf frames). It owns the socket
//! and its three listener closures, forwards everything as [`SocketEvent`]s tagged with a
//! generation number, and clears the listeners and closes the socket on drop. The listeners
//! take the event as a `JsValue` and cast it to its type inside.

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use super::error::SfuError;
use super::session::{Inbox, Input};

/// What the socket reports, tagged with the generation of the socket that produced it.
#[derive(Debug)]
pub enum SocketEvent {
    Frame(u32, Vec<u8>),
    Text(u32),
    Closed(u32, u16),
}

/// One signal connection attempt.
pub struct SignalSocket {
    ws: WebSocket,
    _on_message: Closure<dyn FnMut(JsValue)>,
    _on_close: Closure<dyn FnMut(JsValue)>,
    closed: bool,
}

impl SignalSocket {
    /// Opens `url`; events go to the engine's `inbox`.
    pub fn open(url: &str, generation: u32, inbox: &Inbox) -> Result<SignalSocket, SfuError> {
        let ws = WebSocket::new(url).map_err(|e| SfuError::js(&e))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let tx = inbox.clone();
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let data = ev.unchecked_into::<MessageEvent>().data();
            let event = match data.dyn_into::<ArrayBuffer>() {
                Ok(buf) => SocketEvent::Frame(generation, Uint8Array::new(&buf).to_vec()),
                Err(_) => SocketEvent::Text(generation),
            };
            let _ = tx.send(Input::Socket(event));
        });
        let tx = inbox.clone();
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let code = ev.unchecked_into::<CloseEvent>().code();
            let _ = tx.send(Input::Socket(SocketEvent::Closed(generation, code)));
        });
        // No `onerror` listener: an error is always followed by a close event.
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(SignalSocket {
            ws,
            _on_message: on_message,
            _on_close: on_close,
            closed: false,
        })
    }

    /// True while the socket is open.
    pub fn is_open(&self) -> bool {
        !self.closed && self.ws.ready_state() == WebSocket::OPEN
    }

    /// Sends one binary frame; a closed socket drops it (the session resumes and resyncs).
    pub fn send(&self, frame: &[u8]) -> bool {
        self.is_open() && self.ws.send_with_u8_array(frame).is_ok()
    }

    /// Detaches the listeners and closes with `code` (1000 = normal). Idempotent.
    pub fn close(&mut self, code: u16) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close_with_code(code);
    }
}

impl Drop for SignalSocket {
    fn drop(&mut self) {
        self.close(1000);
    }
}
