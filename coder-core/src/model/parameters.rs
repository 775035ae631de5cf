//! Rich parameters: what a template version asks for, what a build supplies, and validation.

use serde::{Deserialize, Serialize};

use crate::wire::null_as_empty;
use crate::wire_enum;
use crate::{Error, Result};

wire_enum! {
    /// The value type of a rich parameter.
    pub enum ParameterType {
        /// Free text.
        String = "string",
        /// A decimal integer.
        Number = "number",
        /// `true` or `false`.
        Bool = "bool",
        /// A JSON array of strings.
        ListString = "list(string)",
    }
}

wire_enum! {
    /// For numbers: whether a new value may only grow or only shrink.
    pub enum ValidationMonotonicOrder {
        /// New value >= previous value.
        Increasing = "increasing",
        /// New value <= previous value.
        Decreasing = "decreasing",
    }
}

/// One allowed value of an option-style parameter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateVersionParameterOption {
    /// Label.
    pub name: String,
    /// Description.
    pub description: String,
    /// The value sent in a build.
    pub value: String,
    /// Icon URL.
    pub icon: String,
}

/// A parameter a template version asks for
/// (`GET /api/v2/templateversions/{id}/rich-parameters`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateVersionParameter {
    /// Parameter name, unique in the version.
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// Markdown description.
    pub description: String,
    /// Description without markup.
    pub description_plaintext: String,
    /// Value type.
    #[serde(rename = "type")]
    pub type_: ParameterType,
    /// Whether it may change after the first build.
    pub mutable: bool,
    /// Default when the build does not supply one.
    pub default_value: String,
    /// Icon URL.
    pub icon: String,
    /// Allowed values (empty means any value of the type).
    #[serde(deserialize_with = "null_as_empty")]
    pub options: Vec<TemplateVersionParameterOption>,
    /// Regex a string value must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_regex: Option<String>,
    /// Minimum for numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_min: Option<i64>,
    /// Maximum for numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_max: Option<i64>,
    /// Monotonic rule for numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_monotonic: Option<ValidationMonotonicOrder>,
    /// Message shown when validation fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_error: Option<String>,
    /// Whether the build must supply a value (no default).
    pub required: bool,
    /// Whether the value applies to one build only.
    pub ephemeral: bool,
}

/// A parameter value supplied with a build.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceBuildParameter {
    /// Parameter name.
    pub name: String,
    /// Value, as text (numbers in decimal, bools `true`/`false`, lists as JSON).
    pub value: String,
}

impl TemplateVersionParameter {
    /// Checks `value` against this parameter's type, options and validation rules.
    ///
    /// `previous` is the value of the workspace's last build, used for `mutable` and
    /// `validation_monotonic`. Errors name the parameter and say what is wrong.
    ///
    /// ```
    /// use coder_core::model::{ParameterType, TemplateVersionParameter};
    /// let cpus = TemplateVersionParameter {
    ///     name: "cpus".into(),
    ///     type_: ParameterType::Number,
    ///     validation_min: Some(1),
    ///     validation_max: Some(8),
    ///     mutable: true,
    ///     ..Default::default()
    /// };
    /// assert!(cpus.validate("4", None).is_ok());
    /// assert_eq!(
    ///     cpus.validate("16", None).unwrap_err().to_string(),
    ///     "cpus: 16 is above the maximum 8"
    /// );
    /// ```
    pub fn validate(&self, value: &str, previous: Option<&str>) -> Result<()> {
        if previous.is_some_and(|prev| !self.mutable && prev != value) {
            return Err(self.invalid("the parameter is immutable and cannot be changed"));
        }
        if !self.options.is_empty() {
            return self.validate_options(value);
        }
        match &self.type_ {
            ParameterType::Number => self.validate_number(value, previous),
            ParameterType::Bool if value != "true" && value != "false" => {
                Err(self.invalid(format!("{value:?} is not a bool (true or false)")))
            }
            ParameterType::ListString => serde_json::from_str::<Vec<String>>(value)
                .map(drop)
                .map_err(|_| self.invalid(format!("{value:?} is not a JSON list of strings"))),
            ParameterType::String => self.validate_regex(value),
            _ => Ok(()),
        }
    }

    fn validate_options(&self, value: &str) -> Result<()> {
        let allowed = |v: &str| self.options.iter().any(|o| o.value == v);
        let ok = if self.type_ == ParameterType::ListString {
            serde_json::from_str::<Vec<String>>(value)
                .map(|items| items.iter().all(|v| allowed(v)))
                .unwrap_or(false)
        } else {
            allowed(value)
        };
        if ok {
            return Ok(());
        }
        let values: Vec<&str> = self.options.iter().map(|o| o.value.as_str()).collect();
        Err(self.invalid(format!("{value:?} is not one of {values:?}")))
    }

    fn validate_number(&self, value: &str, previous: Option<&str>) -> Result<()> {
        let n: i64 = value
            .trim()
            .parse()
            .map_err(|_| self.invalid(format!("{value:?} is not a number")))?;
        if let Some(min) = self.validation_min.filter(|&min| n < min) {
            return Err(self.rule_failed(format!("{n} is below the minimum {min}")));
        }
        if let Some(max) = self.validation_max.filter(|&max| n > max) {
            return Err(self.rule_failed(format!("{n} is above the maximum {max}")));
        }
        let prev = previous.and_then(|p| p.trim().parse::<i64>().ok());
        match (&self.validation_monotonic, prev) {
            (Some(ValidationMonotonicOrder::Increasing), Some(p)) if n < p => Err(self
                .rule_failed(format!(
                    "{n} is lower than the previous value {p} (increasing only)"
                ))),
            (Some(ValidationMonotonicOrder::Decreasing), Some(p)) if n > p => Err(self
                .rule_failed(format!(
                    "{n} is higher than the previous value {p} (decreasing only)"
                ))),
            _ => Ok(()),
        }
    }

    fn validate_regex(&self, value: &str) -> Result<()> {
        let Some(pattern) = self.validation_regex.as_deref().filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let re = regex::Regex::new(pattern).map_err(|e| {
            self.invalid(format!("the template's validation_regex is invalid: {e}"))
        })?;
        if re.is_match(value) {
            Ok(())
        } else {
            Err(self.rule_failed(format!("{value:?} does not match {pattern}")))
        }
    }

    /// A failed validation rule: the template's own message wins when it has one.
    fn rule_failed(&self, fallback: String) -> Error {
        match self.validation_error.as_deref().filter(|m| !m.is_empty()) {
            Some(message) => self.invalid(message),
            None => self.invalid(fallback),
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field: self.name.clone(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(type_: ParameterType) -> TemplateVersionParameter {
        TemplateVersionParameter {
            name: "p".into(),
            type_,
            mutable: true,
            ..Default::default()
        }
    }

    fn reason(r: Result<()>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn immutable_parameter_rejects_a_change_but_accepts_the_same_value() {
        let p = TemplateVersionParameter {
            mutable: false,
            ..param(ParameterType::String)
        };
        assert!(p.validate("a", Some("a")).is_ok());
        assert_eq!(
            reason(p.validate("b", Some("a"))),
            "p: the parameter is immutable and cannot be changed"
        );
    }

    #[test]
    fn number_bounds_and_monotonic_order() {
        let p = TemplateVersionParameter {
            validation_min: Some(10),
            validation_max: Some(100),
            validation_monotonic: Some(ValidationMonotonicOrder::Increasing),
            ..param(ParameterType::Number)
        };
        assert!(p.validate("50", Some("40")).is_ok());
        assert_eq!(
            reason(p.validate("5", None)),
            "p: 5 is below the minimum 10"
        );
        assert_eq!(
            reason(p.validate("30", Some("40"))),
            "p: 30 is lower than the previous value 40 (increasing only)"
        );
        assert_eq!(
            reason(p.validate("ten", None)),
            "p: \"ten\" is not a number"
        );
    }

    #[test]
    fn template_validation_error_replaces_the_generic_message() {
        let p = TemplateVersionParameter {
            validation_regex: Some("^[a-z]+$".into()),
            validation_error: Some("lowercase letters only".into()),
            ..param(ParameterType::String)
        };
        assert!(p.validate("abc", None).is_ok());
        assert_eq!(reason(p.validate("ABC", None)), "p: lowercase letters only");
    }

    #[test]
    fn options_bools_and_lists() {
        let option = |v: &str| TemplateVersionParameterOption {
            value: v.into(),
            ..Default::default()
        };
        let region = TemplateVersionParameter {
            options: vec![option("eu"), option("us")],
            ..param(ParameterType::String)
        };
        assert!(region.validate("eu", None).is_ok());
        assert_eq!(
            reason(region.validate("ap", None)),
            "p: \"ap\" is not one of [\"eu\", \"us\"]"
        );

        let tags = TemplateVersionParameter {
            options: vec![option("go"), option("rust")],
            ..param(ParameterType::ListString)
        };
        assert!(tags.validate(r#"["go","rust"]"#, None).is_ok());
        assert!(tags.validate(r#"["java"]"#, None).is_err());

        let flag = param(ParameterType::Bool);
        assert!(flag.validate("true", None).is_ok());
        assert_eq!(
            reason(flag.validate("yes", None)),
            "p: \"yes\" is not a bool (true or false)"
        );
        assert_eq!(
            reason(param(ParameterType::ListString).validate("[1]", None)),
            "p: \"[1]\" is not a JSON list of strings"
        );
    }
}
