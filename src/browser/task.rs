//! Spawning futures on the browser's microtask queue, boxed: every caller shares one
//! instantiation of `wasm_bindgen_futures`' task and promise machinery (about 200 bytes of wasm
//! each) instead of one per future type.

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

/// A JS promise settled by `future`: resolved with its value, rejected with its error.
pub fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    promise_task(Box::pin(future))
}

#[inline(never)]
fn promise_task(task: PromiseTask) -> Promise {
    wasm_bindgen_futures::future_to_promise(task)
}
