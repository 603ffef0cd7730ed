//! Spawning futures on the browser's microtask queue, boxed: every caller shares one
//! instantiation of `wasm_bindgen_futures`' task and promise machinery.

use std::future::Future;
use std::pin::Pin;

use js_sys::Promise;
use wasm_bindgen::JsValue;

type Task = Pin<Box<dyn Future<Output = ()>>>;
type PromiseTask = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// Runs `future` to completion on the microtask queue (never synchronously).
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    spawn_task(Box::pin(future));
}

#[inline(never)]
fn spawn_task(task: Task) {
    wasm_bindgen_futures::spawn_local(task);
}

/// Runs `f` from a microtask (never synchronously): event delivery that must not happen
/// inside the caller's borrows or browser callbacks. Every caller shares one future type.
pub fn defer(f: impl FnOnce() + 'static) {
    defer_boxed(Box::new(f));
}

#[inline(never)]
fn defer_boxed(f: Box<dyn FnOnce()>) {
    spawn_task(Box::pin(async move { f() }));
}

/// Lets `promise` settle in the background, ignoring its value and any rejection (a muted
/// element's `play()`, `replaceTrack`, `AudioContext.close()`…). One future type serves every
/// such call site.
pub fn detach(promise: Promise) {
    spawn_task(Box::pin(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }));
}

/// A JS promise settled by `future`: resolved with its value, rejected with its error.
pub fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    promise_task(Box::pin(future))
}

#[inline(never)]
fn promise_task(task: PromiseTask) -> Promise {
    wasm_bindgen_futures::future_to_promise(task)
}
