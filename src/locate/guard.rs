//! Runs a third-party parser so that a panic in it becomes an error for
//! that one file: libyaml-safer still has a few `panic!`/`unwrap` paths on
//! unusual input (a tag directly followed by `,` in a flow collection), and
//! one odd file must not take a run over a whole repository down.

thread_local! {
    /// Set while [`quietly`] runs, so its panics are not printed.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f`, turning a panic into its message. The panic hook installed for
/// this stays silent only inside `f`, on this thread.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "internal error".to_string())
    })
}

/// Run the parser step `f`; a panic in it is an error at `at` naming the
/// parser (`"the YAML parser (libyaml-safer)"`).
pub(crate) fn guarded<T>(
    parser: &str,
    at: usize,
    f: impl FnOnce() -> T,
) -> Result<T, super::LocateError> {
    quietly(f).map_err(|why| super::LocateError {
        offset: at,
        message: format!("{parser} gave up at this point: {why}; please report this file"),
    })
}
