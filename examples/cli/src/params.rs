//! `--parameter name=value` values, as Coder's CLI takes them.

use coder_core::model::WorkspaceBuildParameter;

use crate::error::{CliError, Result};

/// Parses `name=value` (the value may itself contain `=`, and may be empty).
pub(crate) fn parse_parameter(input: &str) -> Result<WorkspaceBuildParameter> {
    match input.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok(WorkspaceBuildParameter {
            name: name.trim().to_owned(),
            value: value.to_owned(),
        }),
        _ => Err(CliError::Usage(format!(
            "parameter {input:?} must be in the format \"name=value\""
        ))),
    }
}

/// Parses every `--parameter`; a name given twice keeps its last value, in the position of
/// its first appearance.
pub(crate) fn parse_parameters(inputs: &[String]) -> Result<Vec<WorkspaceBuildParameter>> {
    let mut out: Vec<WorkspaceBuildParameter> = Vec::new();
    for input in inputs {
        let p = parse_parameter(input)?;
        match out.iter_mut().find(|q| q.name == p.name) {
            Some(existing) => existing.value = p.value,
            None => out.push(p),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: &str) -> WorkspaceBuildParameter {
        WorkspaceBuildParameter {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn splits_on_the_first_equals_sign() {
        assert_eq!(parse_parameter("region=eu").unwrap(), p("region", "eu"));
        assert_eq!(parse_parameter("cmd=a=b").unwrap(), p("cmd", "a=b"));
        assert_eq!(parse_parameter("empty=").unwrap(), p("empty", ""));
        assert_eq!(parse_parameter(" port =8080").unwrap(), p("port", "8080"));
    }

    #[test]
    fn rejects_a_missing_name_or_equals_sign() {
        for bad in ["region", "=eu", ""] {
            let e = parse_parameter(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("parameter {bad:?} must be in the format \"name=value\"")
            );
        }
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value() {
        let args = ["a=1", "b=2", "a=3"].map(String::from);
        assert_eq!(
            parse_parameters(&args).unwrap(),
            vec![p("a", "3"), p("b", "2")]
        );
    }
}
