//! Small Web Audio and DOM helpers shared by the audio graph: node creation and wiring with
//! typed errors, the mean-level reading used for speaking detection, and the hidden muted
//! `<audio>` element that keeps Chromium pulling a remote WebRTC stream (compat-spec P14).

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AnalyserNode, AudioContext, AudioNode, GainNode, HtmlAudioElement, MediaStream};

use super::error::{describe, MediaError};

/// Attribute set on every hidden `<audio>` element the graph inserts (value `remote-audio`).
pub const ELEMENT_MARKER: &str = "data-sohbet-rtc";

pub(crate) fn gain_node(ctx: &AudioContext, value: f32) -> Result<GainNode, MediaError> {
    let node = ctx
        .create_gain()
        .map_err(|e| MediaError::AudioNode(describe(&e)))?;
    node.gain().set_value(value);
    Ok(node)
}

pub(crate) fn analyser_node(ctx: &AudioContext, fft_size: u32) -> Result<AnalyserNode, MediaError> {
    let node = ctx
        .create_analyser()
        .map_err(|e| MediaError::AudioNode(describe(&e)))?;
    node.set_fft_size(fft_size);
    // No smoothing across reads: levels are read every 50 ms, and the default (0.8) made each
    // read average with the last, so a level took ~1.5 s to fall after a voice stopped. The
    // speaking detector's hold time is what bridges the pauses between syllables.
    crate::browser::object::set(
        node.unchecked_ref(),
        "smoothingTimeConstant",
        &JsValue::from_f64(0.0),
    );
    if node.fft_size() != fft_size {
        return Err(MediaError::AudioNode(format!(
            "unsupported fftSize {fft_size}"
        )));
    }
    Ok(node)
}

pub(crate) fn connect(from: &AudioNode, to: &AudioNode) -> Result<(), MediaError> {
    from.connect_with_audio_node(to)
        .map(|_| ())
        .map_err(|e| MediaError::AudioNode(describe(&e)))
}

pub(crate) fn disconnect(node: &AudioNode) {
    let _ = node.disconnect();
}

/// Mean of the analyser's frequency bytes / 255 (0..=1), as the original computed `audioLevel`.
pub(crate) fn mean_level(analyser: &AnalyserNode) -> f32 {
    let mut bins = vec![0u8; analyser.frequency_bin_count() as usize];
    if bins.is_empty() {
        return 0.0;
    }
    analyser.get_byte_frequency_data(&mut bins);
    let sum: u32 = bins.iter().map(|b| u32::from(*b)).sum();
    sum as f32 / bins.len() as f32 / 255.0
}

/// A hidden, muted `<audio>` element that keeps Chromium pulling a remote stream (P14).
pub(crate) fn hidden_element(stream: &MediaStream) -> Result<HtmlAudioElement, MediaError> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| MediaError::Dom("no document".into()))?;
    let element: HtmlAudioElement = document
        .create_element("audio")
        .map_err(|e| MediaError::Dom(describe(&e)))?
        .unchecked_into();
    element.set_muted(true);
    element.set_autoplay(true);
    let _ = element.set_attribute("hidden", "");
    let _ = element.set_attribute(ELEMENT_MARKER, "remote-audio");
    element.set_src_object(Some(stream));
    if let Some(body) = document.body() {
        body.append_child(&element)
            .map_err(|e| MediaError::Dom(describe(&e)))?;
    }
    // play() may reject (autoplay); the element is muted, so that is harmless.
    if let Ok(promise) = element.play() {
        crate::browser::detach(promise);
    }
    Ok(element)
}

/// Stops and removes a hidden element created by [`hidden_element`].
pub(crate) fn remove_element(element: &HtmlAudioElement) {
    let _ = element.pause();
    element.set_src_object(None);
    element.remove();
}
