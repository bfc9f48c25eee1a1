//! Clock, randomness, log and environment from the JavaScript host.

use portcullis_core::{Clock, Env, RandomError, SecureRandom, UnixTime};
use portcullis_service::{Level, Log, log_line};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = fillRandom, catch)]
    fn fill_random(bytes: &mut [u8]) -> Result<(), JsValue>;
}

/// `Date.now()`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_millis(js_sys::Date::now())
    }

    fn millis(&self) -> u64 {
        // `as` saturates: a NaN or negative clock reads as 0.
        js_sys::Date::now() as u64
    }
}

/// `crypto.getRandomValues`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsRandom;

impl SecureRandom for JsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        // getRandomValues accepts at most 65536 bytes per call.
        for chunk in dest.chunks_mut(65_536) {
            fill_random(chunk).map_err(|_| RandomError)?;
        }
        Ok(())
    }
}

/// JSON lines on the console (`console.log` / `warn` / `error` by level).
#[derive(Clone, Copy, Debug)]
pub struct ConsoleLog {
    function: &'static str,
}

impl ConsoleLog {
    /// A log for the named function.
    #[must_use]
    pub const fn new(function: &'static str) -> Self {
        Self { function }
    }
}

impl Log for ConsoleLog {
    fn log(&self, level: Level, code: &str, message: &str) {
        let line = JsValue::from_str(&log_line(self.function, level, code, message));
        match level {
            Level::Info => web_sys::console::log_1(&line),
            Level::Warn => web_sys::console::warn_1(&line),
            Level::Error => web_sys::console::error_1(&line),
        }
    }
}

/// Where a function's data assets come from (the entry crate's asset module).
pub type AssetSource = fn(&str) -> Option<String>;

/// Configuration through a JS getter, `(name) => string | undefined`, plus the function's
/// assets.
#[derive(Debug)]
pub struct JsEnv {
    getter: js_sys::Function,
    assets: AssetSource,
}

impl JsEnv {
    /// Wraps the getter.
    #[must_use]
    pub fn new(getter: js_sys::Function, assets: AssetSource) -> Self {
        Self { getter, assets }
    }
}

impl Env for JsEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.getter
            .call1(&JsValue::UNDEFINED, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .filter(|v| !v.trim().is_empty())
    }

    fn asset(&self, name: &str) -> Option<String> {
        (self.assets)(name)
    }
}
