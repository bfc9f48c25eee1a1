//! Data the hooks function ships next to its Wasm module rather than inside it.
//!
//! The disposable-domain blocklist is ~147 KB of text (~57 KB gzipped). Compiled into the
//! module it would be copied into linear memory at every instantiation, used or not, and take
//! a third of the module's size budget. As a JavaScript module it is parsed once by the engine
//! and copied into Wasm memory only when a policy turns `block_disposable_domains` on.
//!
//! `js/disposable_domains.js` is generated from `crates/hooks/domain/data/disposable_domains.txt` by
//! `cargo xtask update-disposable-domains`; a test keeps the two identical.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// The asset names this crate provides.
pub const DISPOSABLE_DOMAINS: &str = "disposable_domains.txt";

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(module = "/js/disposable_domains.js")]
extern "C" {
    #[wasm_bindgen(js_name = disposableDomains)]
    fn disposable_domains() -> String;
}

/// The named asset (the hosts' `Env::asset`).
#[cfg(target_arch = "wasm32")]
#[must_use]
pub fn asset(name: &str) -> Option<String> {
    (name == DISPOSABLE_DOMAINS).then(disposable_domains)
}

/// Native builds read the source file (tools and tests).
#[cfg(not(target_arch = "wasm32"))]
#[must_use]
pub fn asset(name: &str) -> Option<String> {
    (name == DISPOSABLE_DOMAINS)
        .then(|| include_str!("../../domain/data/disposable_domains.txt").to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn js_module_holds_exactly_the_source_list() {
        let js = include_str!("../js/disposable_domains.js");
        let source = include_str!("../../domain/data/disposable_domains.txt");
        let start = js.find("return \"").expect("string literal") + "return \"".len();
        let end = js.rfind("\";").expect("end of literal");
        let text = js[start..end].replace("\\n", "\n");
        assert_eq!(text, source);
        assert!(!source.contains('"') && !source.contains('\\'));
    }
}
