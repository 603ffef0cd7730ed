//! RAII browser resources of the transports:
//! - [`Connection`]: one `WebSocket` and the four callbacks it owns; dropping it detaches the
//!   callbacks and closes the socket (code 1000), so no event reaches a dropped client.
//!
//! Timers come from `crate::browser::Timeout`. Dropping a connection from inside one of its
//! own callbacks is safe (wasm-bindgen defers freeing a closure until its call returns).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, WebSocket};

/// The four event handlers a [`Connection`] owns.
pub(crate) struct SocketHandlers {
    pub(crate) on_open: Closure<dyn FnMut(JsValue)>,
    pub(crate) on_message: Closure<dyn FnMut(JsValue)>,
    pub(crate) on_close: Closure<dyn FnMut(JsValue)>,
    pub(crate) on_error: Closure<dyn FnMut(JsValue)>,
}

/// One browser socket and the callbacks it owns.
pub(crate) struct Connection {
    ws: WebSocket,
    _handlers: SocketHandlers,
}

impl Connection {
    /// Opens a socket to `url` (binary frames as `ArrayBuffer`) with `handlers` attached.
    /// Fails when the browser refuses the URL (syntax, blocked port, mixed content).
    pub(crate) fn open(url: &str, handlers: SocketHandlers) -> Result<Self, JsValue> {
        let ws = WebSocket::new(url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        ws.set_onopen(Some(handlers.on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(handlers.on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(handlers.on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(handlers.on_error.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            _handlers: handlers,
        })
    }

    /// Whether the socket is OPEN (a send would go out).
    pub(crate) fn is_open(&self) -> bool {
        self.ws.ready_state() == WebSocket::OPEN
    }

    /// Sends one text frame.
    pub(crate) fn send_text(&self, text: &str) -> Result<(), JsValue> {
        self.ws.send_with_str(text)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        if self.ws.ready_state() <= WebSocket::OPEN {
            // Teardown swallows "already closed"; close(1000) cannot otherwise throw.
            let _ = self.ws.close_with_code(1000);
        }
    }
}
