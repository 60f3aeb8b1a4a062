//! The URL of an HTTP engine: `http://HOST:PORT/PATH`, parsed and checked
//! once (spec load, `--engine-url`), so a typo is bad input (exit 2) before
//! anything starts, not an error on every request.

use http::Uri;

/// What stands for the port a launched server is given.
pub const PORT_PLACEHOLDER: &str = "{port}";

/// A checked HTTP engine URL, possibly with `{port}` still in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    text: String,
}

impl Endpoint {
    /// Checks `url`: scheme `http`, a host, no query or fragment (the
    /// harness adds the query), and `{port}` only when `launched` (the harness
    /// chooses the port only for a server it starts). Says what is allowed.
    pub fn parse(url: &str, launched: bool) -> Result<Endpoint, String> {
        let form = "expected http://HOST:PORT/PATH, e.g. http://127.0.0.1:8080/audit-events";
        let has_placeholder = url.contains(PORT_PLACEHOLDER);
        if has_placeholder && !launched {
            return Err(format!(
                "{url:?}: {PORT_PLACEHOLDER} stands for the port of a server the harness starts, so it needs `command`; a deployed service's URL names its port"
            ));
        }
        let probe = url.replace(PORT_PLACEHOLDER, "1");
        let uri: Uri = probe
            .parse()
            .map_err(|e| format!("{url:?} is not a URL ({e}); {form}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "{url:?}: https is not supported (the harness measures the service, not TLS); reach it over http inside its network, {form}"
                ))
            }
            Some(s) => return Err(format!("{url:?}: scheme {s:?} is not allowed; {form}")),
            None => return Err(format!("{url:?} has no scheme; {form}")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("{url:?} has no host; {form}"));
        }
        if uri.query().is_some() || url.contains('#') {
            return Err(format!(
                "{url:?}: no query or fragment, the harness adds the query's fields; {form}"
            ));
        }
        Ok(Endpoint { text: url.to_string() })
    }

    /// Whether the URL still has `{port}` in it.
    pub fn needs_port(&self) -> bool {
        self.text.contains(PORT_PLACEHOLDER)
    }

    /// The URL with `{port}` replaced.
    pub fn with_port(&self, port: u16) -> String {
        self.text.replace(PORT_PLACEHOLDER, &port.to_string())
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_urls_are_accepted() {
        let e = Endpoint::parse("http://127.0.0.1:8080/audit-events", false).unwrap();
        assert_eq!(e.as_str(), "http://127.0.0.1:8080/audit-events");
        assert!(!e.needs_port());
        let e = Endpoint::parse("http://127.0.0.1:{port}/v1/audit", true).unwrap();
        assert_eq!(e.with_port(4321), "http://127.0.0.1:4321/v1/audit");
        Endpoint::parse("http://audit.internal/audit-events", false).unwrap();
    }

    #[test]
    fn bad_urls_say_what_is_allowed() {
        for (url, launched, why) in [
            ("127.0.0.1:8080/x", false, "expected http://"),
            ("ftp://h/x", false, "scheme \"ftp\""),
            ("https://h/x", false, "https is not supported"),
            ("http://h/x?page=1", false, "no query"),
            ("http://h/x#top", false, "no query or fragment"),
            ("http:///x", false, "expected http://"),
            ("http://h:{port}/x", false, "needs `command`"),
            ("not a url", false, "expected http://"),
        ] {
            let e = Endpoint::parse(url, launched).unwrap_err();
            assert!(e.contains(why), "{url}: {e}");
        }
    }
}
