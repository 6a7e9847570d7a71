//! Interaction settings (what the admin configures, what the invitee sees) and the server-side
//! check of an invitee's answers and timers.

use super::MAX_TEXT_ANSWER_CHARS;
use crate::db::wizards::Interaction;
use crate::error::{Error, ErrorCode, FieldError, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An interaction's configuration, as the admin sets it (and sees it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InteractionConfig {
    /// A button to continue.
    Click {
        /// Button text, at most 100 characters (default `Continue`).
        #[serde(default = "default_button")]
        #[schema(max_length = 100)]
        button_text: String,
    },
    /// A wait, measured by the server from when the step became available.
    Timer {
        /// Seconds, 1 to 300.
        #[schema(minimum = 1, maximum = 300)]
        duration_seconds: u32,
    },
    /// A checkbox the invitee must tick.
    Terms {
        /// The checkbox label, 1 to 500 characters (not only spaces).
        #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
        label: String,
    },
    /// A text field.
    TextInput {
        /// Label, 1 to 200 characters (not only spaces).
        #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
        label: String,
        /// Placeholder, at most 200 characters.
        #[serde(default)]
        #[schema(max_length = 200)]
        placeholder: Option<String>,
        /// Whether an answer is needed (default `true`).
        #[serde(default = "default_true")]
        required: bool,
        /// Shortest answer in characters, 0 to 2000.
        #[serde(default)]
        #[schema(minimum = 0, maximum = 2000)]
        min_length: Option<u32>,
        /// Longest answer in characters, 1 to 2000 (answers are capped at 2000 anyway).
        #[serde(default)]
        #[schema(minimum = 1, maximum = 2000)]
        max_length: Option<u32>,
    },
    /// A multiple-choice question with one right answer.
    Quiz {
        /// The question, 1 to 500 characters (not only spaces).
        #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
        question: String,
        /// 2 to 10 options, each at most 200 characters.
        #[schema(schema_with = quiz_options_schema)]
        options: Vec<String>,
        /// 0-based index of the right option (less than the number of options); never sent to
        /// invitees.
        #[schema(minimum = 0, maximum = 9)]
        correct_index: u32,
    },
}

fn quiz_options_schema() -> utoipa::openapi::schema::Array {
    let option = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(200))
        .pattern(Some(r"\S"));
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(option)
        .min_items(Some(2))
        .max_items(Some(10))
        .build()
}

fn default_button() -> String {
    "Continue".into()
}

fn default_true() -> bool {
    true
}

impl InteractionConfig {
    /// The type name (`kind` column).
    pub fn kind(&self) -> &'static str {
        match self {
            InteractionConfig::Click { .. } => "click",
            InteractionConfig::Timer { .. } => "timer",
            InteractionConfig::Terms { .. } => "terms",
            InteractionConfig::TextInput { .. } => "text_input",
            InteractionConfig::Quiz { .. } => "quiz",
        }
    }

    /// What the invitee may see: everything but the quiz answer.
    pub fn public(&self) -> PublicInteractionConfig {
        match self.clone() {
            InteractionConfig::Click { button_text } => {
                PublicInteractionConfig::Click { button_text }
            }
            InteractionConfig::Timer { duration_seconds } => {
                PublicInteractionConfig::Timer { duration_seconds }
            }
            InteractionConfig::Terms { label } => PublicInteractionConfig::Terms { label },
            InteractionConfig::TextInput {
                label,
                placeholder,
                required,
                min_length,
                max_length,
            } => PublicInteractionConfig::TextInput {
                label,
                placeholder,
                required,
                min_length,
                max_length,
            },
            InteractionConfig::Quiz {
                question, options, ..
            } => PublicInteractionConfig::Quiz { question, options },
        }
    }
}

/// An interaction as the invitee sees it (a quiz without its answer).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PublicInteractionConfig {
    /// A button; answer `true`.
    Click {
        /// Button text.
        button_text: String,
    },
    /// A wait; no answer needed, but the step is refused until the time has passed.
    Timer {
        /// Seconds, counted by the server from when the step became available.
        duration_seconds: u32,
    },
    /// A checkbox; answer `true`.
    Terms {
        /// The checkbox label.
        label: String,
    },
    /// A text field; answer a string.
    TextInput {
        /// Label.
        label: String,
        /// Placeholder.
        placeholder: Option<String>,
        /// Whether an answer is needed.
        required: bool,
        /// Shortest answer in characters.
        min_length: Option<u32>,
        /// Longest answer in characters.
        max_length: Option<u32>,
    },
    /// A question; answer the 0-based index of the chosen option.
    Quiz {
        /// The question.
        question: String,
        /// The options.
        options: Vec<String>,
    },
}

/// Settings each interaction type takes.
const KINDS: &[(&str, &[&str])] = &[
    ("click", &["button_text"]),
    ("timer", &["duration_seconds"]),
    ("terms", &["label"]),
    (
        "text_input",
        &[
            "label",
            "placeholder",
            "required",
            "min_length",
            "max_length",
        ],
    ),
    ("quiz", &["question", "options", "correct_index"]),
];

fn text(
    input: &Map<String, Value>,
    key: &str,
    required: bool,
    max: usize,
    fields: &mut Vec<FieldError>,
) -> Option<String> {
    match input.get(key) {
        None | Some(Value::Null) => {
            if required {
                fields.push(FieldError::new(key, "is required"));
            }
            None
        }
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                if required {
                    fields.push(FieldError::new(key, "is required"));
                }
                None
            } else if s.chars().count() > max {
                fields.push(FieldError::new(
                    key,
                    format!("must be at most {max} characters"),
                ));
                None
            } else {
                Some(s.to_owned())
            }
        }
        Some(_) => {
            fields.push(FieldError::new(key, "must be text"));
            None
        }
    }
}

fn integer(
    input: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<u32>,
    fields: &mut Vec<FieldError>,
) -> Option<u32> {
    match input.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                fields.push(FieldError::new(
                    key,
                    format!(
                        "must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                ));
                None
            }
        },
    }
}

/// Check an interaction's settings (a JSON object with `type`) and normalise them. Every
/// problem is reported by field.
pub fn parse_config(
    input: &Map<String, Value>,
) -> std::result::Result<InteractionConfig, Vec<FieldError>> {
    let kinds = || KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
    let Some((kind, allowed)) = input
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| KINDS.iter().find(|(k, _)| *k == t))
    else {
        return Err(vec![FieldError::new(
            "type",
            format!("must be one of: {}", kinds()),
        )]);
    };
    let mut fields = Vec::new();
    for key in input.keys() {
        if key != "type" && !allowed.contains(&key.as_str()) {
            fields.push(FieldError::new(
                key.as_str(),
                format!("is not a setting of {kind} interactions"),
            ));
        }
    }
    let missing = |fields: &mut Vec<FieldError>, key: &str| {
        if !fields.iter().any(|f| f.field == key) {
            fields.push(FieldError::new(key, "is required"));
        }
    };
    let config = match *kind {
        "click" => Some(InteractionConfig::Click {
            button_text: text(input, "button_text", false, 100, &mut fields)
                .unwrap_or_else(default_button),
        }),
        "timer" => {
            let d = integer(input, "duration_seconds", 1..=300, &mut fields);
            if d.is_none() {
                missing(&mut fields, "duration_seconds");
            }
            d.map(|duration_seconds| InteractionConfig::Timer { duration_seconds })
        }
        "terms" => text(input, "label", true, 500, &mut fields)
            .map(|label| InteractionConfig::Terms { label }),
        "text_input" => {
            let label = text(input, "label", true, 200, &mut fields);
            let placeholder = text(input, "placeholder", false, 200, &mut fields);
            let required = match input.get("required") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    fields.push(FieldError::new("required", "must be true or false"));
                    true
                }
            };
            let min_length = integer(input, "min_length", 0..=MAX_TEXT_ANSWER_CHARS, &mut fields);
            let max_length = integer(input, "max_length", 1..=MAX_TEXT_ANSWER_CHARS, &mut fields);
            if let (Some(min), Some(max)) = (min_length, max_length)
                && min > max
            {
                fields.push(FieldError::new(
                    "min_length",
                    "must not be more than max_length",
                ));
            }
            label.map(|label| InteractionConfig::TextInput {
                label,
                placeholder,
                required,
                min_length,
                max_length,
            })
        }
        _ => {
            let question = text(input, "question", true, 500, &mut fields);
            let mut options = Vec::new();
            match input.get("options") {
                Some(Value::Array(list)) => {
                    if !(2..=10).contains(&list.len()) {
                        fields.push(FieldError::new("options", "give 2 to 10 options"));
                    }
                    for (i, o) in list.iter().enumerate() {
                        match o.as_str().map(str::trim) {
                            Some(s) if !s.is_empty() && s.chars().count() <= 200 => {
                                options.push(s.to_owned())
                            }
                            _ => fields.push(FieldError::new(
                                format!("options[{i}]"),
                                "must be text of 1 to 200 characters",
                            )),
                        }
                    }
                }
                None | Some(Value::Null) => fields.push(FieldError::new("options", "is required")),
                Some(_) => fields.push(FieldError::new("options", "must be a list of texts")),
            }
            let last = options.len().saturating_sub(1) as u32;
            let correct = integer(input, "correct_index", 0..=last, &mut fields);
            if correct.is_none() {
                missing(&mut fields, "correct_index");
            }
            match (question, correct) {
                (Some(question), Some(correct_index)) => Some(InteractionConfig::Quiz {
                    question,
                    options,
                    correct_index,
                }),
                _ => None,
            }
        }
    };
    match config {
        Some(c) if fields.is_empty() => Ok(c),
        _ => Err(fields),
    }
}

/// Refuse a step whose timers have not run out: `available_ms` is when the server made the
/// step available (the issue time of the token it was sent with).
pub fn check_timers(interactions: &[Interaction], available_ms: i64, now_ms: i64) -> Result<()> {
    let longest = interactions
        .iter()
        .filter_map(|i| match i.config {
            InteractionConfig::Timer { duration_seconds } => Some(i64::from(duration_seconds)),
            _ => None,
        })
        .max();
    let Some(seconds) = longest else {
        return Ok(());
    };
    let remaining_ms = available_ms + seconds * 1000 - now_ms;
    if remaining_ms > 0 {
        let secs = (remaining_ms + 999) / 1000;
        return Err(Error::new(
            ErrorCode::WizardTimerRunning,
            format!("wait {secs} more second(s) before continuing"),
        )
        .with_retry_after(secs as u64));
    }
    Ok(())
}

/// Check the invitee's answers for a step's interactions, keyed by interaction id. Returns the
/// problems by field (`answers.<id>`).
pub fn check_answers(
    interactions: &[Interaction],
    answers: &BTreeMap<String, Value>,
) -> Vec<FieldError> {
    let mut fields = Vec::new();
    for key in answers.keys() {
        if !interactions.iter().any(|i| i.id.to_string() == *key) {
            fields.push(FieldError::new(
                format!("answers.{}", key.chars().take(20).collect::<String>()),
                "is not an interaction of this step",
            ));
        }
    }
    for i in interactions {
        let field = format!("answers.{}", i.id);
        let answer = answers.get(&i.id.to_string()).filter(|v| !v.is_null());
        let problem = match (&i.config, answer) {
            (InteractionConfig::Click { .. }, Some(Value::Bool(true))) => None,
            (InteractionConfig::Click { .. }, _) => Some("answer true to continue".to_owned()),
            (InteractionConfig::Timer { .. }, None | Some(Value::Bool(true))) => None,
            (InteractionConfig::Timer { .. }, _) => Some("needs no answer".to_owned()),
            (InteractionConfig::Terms { .. }, Some(Value::Bool(true))) => None,
            (InteractionConfig::Terms { .. }, _) => Some("must be accepted".to_owned()),
            (
                InteractionConfig::TextInput {
                    required,
                    min_length,
                    max_length,
                    ..
                },
                answer,
            ) => match answer {
                None if *required => Some("is required".to_owned()),
                None => None,
                Some(Value::String(s)) => {
                    let len = s.trim().chars().count() as u32;
                    let max = max_length.unwrap_or(MAX_TEXT_ANSWER_CHARS);
                    if let Err(rule) =
                        crate::input::free_text(s, MAX_TEXT_ANSWER_CHARS as usize * 4)
                    {
                        Some(rule.to_owned())
                    } else if s.chars().count() as u32 > MAX_TEXT_ANSWER_CHARS || len > max {
                        Some(format!("must be at most {max} characters"))
                    } else if len == 0 && *required {
                        Some("is required".to_owned())
                    } else if len > 0 && min_length.is_some_and(|m| len < m) {
                        Some(format!(
                            "must be at least {} characters",
                            min_length.unwrap_or(0)
                        ))
                    } else {
                        None
                    }
                }
                Some(_) => Some("must be text".to_owned()),
            },
            (InteractionConfig::Quiz { correct_index, .. }, Some(v)) => match v.as_u64() {
                Some(n) if n == u64::from(*correct_index) => None,
                Some(_) => Some("is not the right answer".to_owned()),
                None => Some("must be the index of an option".to_owned()),
            },
            (InteractionConfig::Quiz { .. }, None) => Some("choose an answer".to_owned()),
        };
        if let Some(message) = problem {
            fields.push(FieldError::new(field, message));
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn interaction(id: i64, config: InteractionConfig) -> Interaction {
        Interaction {
            id,
            step_id: 1,
            position: 0,
            config,
        }
    }

    #[test]
    fn timers_count_from_the_server_time_the_step_became_available() {
        let timer = [interaction(
            1,
            InteractionConfig::Timer {
                duration_seconds: 2,
            },
        )];
        let err = check_timers(&timer, 10_000, 11_500).unwrap_err();
        assert_eq!(err.code(), ErrorCode::WizardTimerRunning);
        assert!(matches!(
            err,
            Error::Client {
                retry_after: Some(1),
                ..
            }
        ));
        assert!(check_timers(&timer, 10_000, 12_000).is_ok());
        assert!(check_timers(&[], 10_000, 10_000).is_ok());
    }

    #[test]
    fn answers_are_checked_per_type() {
        let list = [
            interaction(
                1,
                InteractionConfig::Click {
                    button_text: "Go".into(),
                },
            ),
            interaction(
                2,
                InteractionConfig::Terms {
                    label: "I agree".into(),
                },
            ),
            interaction(
                3,
                InteractionConfig::TextInput {
                    label: "Why?".into(),
                    placeholder: None,
                    required: true,
                    min_length: Some(3),
                    max_length: Some(10),
                },
            ),
            interaction(
                4,
                InteractionConfig::Quiz {
                    question: "2+2?".into(),
                    options: vec!["3".into(), "4".into()],
                    correct_index: 1,
                },
            ),
        ];
        let answers = |v: Value| -> BTreeMap<String, Value> { serde_json::from_value(v).unwrap() };
        assert!(
            check_answers(
                &list,
                &answers(json!({ "1": true, "2": true, "3": "because", "4": 1 }))
            )
            .is_empty()
        );
        let fields: Vec<String> = check_answers(
            &list,
            &answers(json!({ "1": false, "3": "x".repeat(11), "4": 0, "99": true })),
        )
        .into_iter()
        .map(|f| f.field)
        .collect();
        assert_eq!(
            fields,
            [
                "answers.99",
                "answers.1",
                "answers.2",
                "answers.3",
                "answers.4"
            ]
        );
        let fields = check_answers(
            &list,
            &answers(json!({ "1": true, "2": true, "3": "ab", "4": "1" })),
        );
        assert_eq!(fields.len(), 2, "{fields:?}");
        let huge = "y".repeat(100_000);
        let open_text = [interaction(
            5,
            InteractionConfig::TextInput {
                label: "Anything".into(),
                placeholder: None,
                required: false,
                min_length: None,
                max_length: None,
            },
        )];
        assert_eq!(
            check_answers(&open_text, &answers(json!({ "5": huge }))).len(),
            1,
            "the absolute cap applies without max_length"
        );
        assert!(check_answers(&open_text, &answers(json!({}))).is_empty());
    }

    #[test]
    fn configs_are_validated_with_field_errors() {
        let parse = |v: Value| parse_config(v.as_object().unwrap());
        assert_eq!(
            parse(json!({ "type": "click" })).unwrap(),
            InteractionConfig::Click {
                button_text: "Continue".into()
            }
        );
        let fields = |v: Value| -> Vec<String> {
            parse(v).unwrap_err().into_iter().map(|f| f.field).collect()
        };
        assert_eq!(fields(json!({ "type": "nope" })), ["type"]);
        assert_eq!(fields(json!({})), ["type"]);
        assert_eq!(
            fields(json!({ "type": "timer", "duration_seconds": 301 })),
            ["duration_seconds"]
        );
        assert_eq!(fields(json!({ "type": "timer" })), ["duration_seconds"]);
        assert_eq!(
            fields(json!({ "type": "timer", "duration_seconds": 0, "label": "x" })),
            ["label", "duration_seconds"]
        );
        assert_eq!(fields(json!({ "type": "terms", "label": "  " })), ["label"]);
        assert_eq!(
            fields(json!({ "type": "text_input", "label": "x", "min_length": 5, "max_length": 4 })),
            ["min_length"]
        );
        assert_eq!(
            fields(
                json!({ "type": "quiz", "question": "q", "options": ["a"], "correct_index": 0 })
            ),
            ["options"]
        );
        assert_eq!(
            fields(
                json!({ "type": "quiz", "question": "q", "options": ["a", "b"], "correct_index": 2 })
            ),
            ["correct_index"]
        );
        assert_eq!(
            fields(
                json!({ "type": "quiz", "question": "q", "options": ["a", ""], "correct_index": 0 })
            ),
            ["options[1]"]
        );
        let quiz = parse(
            json!({ "type": "quiz", "question": "q", "options": [" a ", "b"], "correct_index": 1 }),
        )
        .unwrap();
        let public = serde_json::to_string(&quiz.public()).unwrap();
        assert!(!public.contains("correct"), "{public}");
        // Round trip through the stored form.
        let stored = serde_json::to_string(&quiz).unwrap();
        assert_eq!(
            serde_json::from_str::<InteractionConfig>(&stored).unwrap(),
            quiz
        );
    }
}
