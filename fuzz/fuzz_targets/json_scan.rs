//! The validating scanner agrees with serde_json on what is a JSON object, and every member it
//! returns parses to the value serde_json sees.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::json::scan::object_members;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = object_members(text);
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(theirs)) => {
            let members = ours.expect("serde_json accepted an object the scanner refused");
            for (key, raw) in &members {
                let v: Value = serde_json::from_str(raw).expect("member is valid JSON");
                if members.iter().filter(|(k, _)| k == key).count() == 1 {
                    assert_eq!(Some(&v), theirs.get(key.as_ref()));
                }
            }
        }
        Err(e) if e.to_string().contains("out of range") => {}
        _ => assert!(
            ours.is_err(),
            "the scanner accepted what serde_json refused"
        ),
    }
});
