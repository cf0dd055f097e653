//! The reference parser: never panics; what parses displays as written and parses again the same.
#![no_main]

use imgpin::reference::ImageRef;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = ImageRef::parse(text) {
        assert_eq!(parsed.to_string(), text);
        assert_eq!(ImageRef::parse(&parsed.to_string()).unwrap(), parsed);
        let _ = parsed.canonical_name();
        let _ = parsed.resolve_key();
    }
});
