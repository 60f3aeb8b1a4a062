//! Command lines shown to people: the replay line of a counterexample and the
//! report's provenance quote one command the same way, so what is pasted
//! into a shell is what ran.

/// Words joined into one shell command line, each quoted where needed (shlex).
pub fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| match shlex::try_quote(w) {
            Ok(q) => q.into_owned(),
            // A NUL byte cannot be passed to a program at all.
            Err(_) => format!("'{}'", w.replace('\0', "").replace('\'', "'\\''")),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::shell_words;

    #[test]
    fn words_come_back_as_a_shell_splits_them() {
        let words: Vec<String> = ["audit-harness", "--spec", "my spec.toml", "it's", "a=b", ""]
            .map(String::from)
            .to_vec();
        let line = shell_words(&words);
        assert_eq!(shlex::split(&line).unwrap(), words, "{line}");
    }
}
