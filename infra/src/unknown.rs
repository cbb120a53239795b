//! Values Pulumi does not know yet, and the one way this program derives a value from outputs.
//!
//! In a preview nothing has been created, so outputs such as ARNs, IDs and URLs are unknown. The
//! engine marks an unknown string with a sentinel (pulumi/pulumi
//! `sdk/go/common/resource/plugin/rpc.go`, `UnknownStringValue`) and reads an input that *is*
//! the sentinel as unknown; an input that merely contains it is an ordinary, wrong string that the
//! provider's Check validates as such (an ARN built from it is not an ARN).
//!
//! How unknowns reach this program today: Pulumi Gestalt 0.0.12 does not set
//! `supportsPartialValues`, so the engine leaves every output that contains an unknown out of its
//! `RegisterResource` answer (`pkg/resource/deploy/source_eval.go`, "stripping unknowns"); Gestalt
//! reads a missing output in a preview as nothing, runs no `map` on it, and sends the input built
//! from it as the sentinel (`crates/domain/src/lib.rs` `get_field_value`,
//! `crates/grpc/src/real_pulumi_connector.rs` `create_protobuf_struct`). An SDK that did set the
//! flag would be answered with the sentinel itself, which Gestalt's `protobuf_to_pulumi_value`
//! hands to `map` as an ordinary string. [`derive`] keeps the program right either way: a value
//! computed from an unknown is unknown, never a string with the sentinel inside.

use pulumi_gestalt_rust::Output;

/// The engine's unknown string.
pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/// The inputs of a derivation: a string output, or a tuple of them from `pulumi_combine!`.
pub trait Inputs {
    /// Whether any of the values is the engine's unknown.
    fn any_unknown(&self) -> bool;
}

impl Inputs for String {
    fn any_unknown(&self) -> bool {
        self == UNKNOWN
    }
}

impl<T: Inputs> Inputs for Vec<T> {
    fn any_unknown(&self) -> bool {
        self.iter().any(Inputs::any_unknown)
    }
}

/// An optional output (a resource only some stacks have): nothing is known, not unknown.
impl<T: Inputs> Inputs for Option<T> {
    fn any_unknown(&self) -> bool {
        self.as_ref().is_some_and(Inputs::any_unknown)
    }
}

macro_rules! tuple_inputs {
    ($($name:ident),+) => {
        impl<$($name: Inputs),+> Inputs for ($($name,)+) {
            #[allow(non_snake_case)]
            fn any_unknown(&self) -> bool {
                let ($($name,)+) = self;
                false $(|| $name.any_unknown())+
            }
        }
    };
}
tuple_inputs!(A, B);
tuple_inputs!(A, B, C);
tuple_inputs!(A, B, C, D);
tuple_inputs!(A, B, C, D, E);
tuple_inputs!(A, B, C, D, E, F);
tuple_inputs!(A, B, C, D, E, F, G);
tuple_inputs!(A, B, C, D, E, F, G, H);

/// `f` of the known `inputs`, or the unknown when any of them is unknown.
pub fn derived<T: Inputs>(inputs: T, f: impl FnOnce(T) -> String) -> String {
    if inputs.any_unknown() {
        UNKNOWN.to_owned()
    } else {
        f(inputs)
    }
}

/// A string computed from `output`: unknown while any of its inputs is.
pub fn derive<T>(
    output: &Output<T>,
    f: impl Fn(T) -> String + Send + Sync + 'static,
) -> Output<String>
where
    T: Inputs + Clone + Send + Sync + 'static,
{
    output.map(move |inputs| derived(inputs, &f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_input_is_derived() {
        let arn = "arn:aws:execute-api:eu-west-1:1:abc".to_owned();
        assert_eq!(
            derived(arn, |arn| format!("{arn}/*/*")),
            "arn:aws:execute-api:eu-west-1:1:abc/*/*"
        );
    }

    #[test]
    fn an_unknown_input_gives_the_unknown_itself_not_a_string_around_it() {
        let derived = derived(UNKNOWN.to_owned(), |arn| format!("{arn}/*/*"));
        assert_eq!(derived, UNKNOWN);
    }

    #[test]
    fn one_unknown_among_several_inputs_makes_the_result_unknown() {
        let known = || "arn:aws:logs:eu-west-1:1:log-group:g".to_owned();
        let inputs = (known(), vec![known(), UNKNOWN.to_owned()], known());
        assert_eq!(derived(inputs, |_| "policy".to_owned()), UNKNOWN);
        let inputs = (known(), vec![known(), known()], known());
        assert_eq!(derived(inputs, |_| "policy".to_owned()), "policy");
    }

    #[test]
    fn an_absent_optional_input_is_known_and_a_present_one_as_known_as_its_value() {
        let known = "arn:aws:ssm:eu-west-1:1:parameter/p".to_owned();
        assert!(!None::<String>.any_unknown());
        assert!(!Some(known.clone()).any_unknown());
        assert!(Some(UNKNOWN.to_owned()).any_unknown());
        assert_eq!(
            derived((known, None::<String>), |(a, b)| format!("{a} {b:?}")),
            "arn:aws:ssm:eu-west-1:1:parameter/p None"
        );
    }

    #[test]
    fn a_string_that_only_contains_the_sentinel_is_an_ordinary_value() {
        // What the engine would also read as known: only the exact sentinel is unknown.
        let odd = format!("{UNKNOWN}/*/*");
        assert!(!odd.any_unknown());
    }
}
