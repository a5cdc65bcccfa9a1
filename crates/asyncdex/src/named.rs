//! `named_enum!`: a fieldless enum with a lowercase name per variant, `ALL`, `as_str`,
//! `Display` and `FromStr` (whose error lists the valid names). Used by the modes and ways
//! that commands take as flags.

/// Declares a fieldless enum whose variants have lowercase names.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Its lowercase name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::Error::invalid_input(format!(
                        "unknown {} {s:?}: use one of {}",
                        $what,
                        names.join(", ")
                    ))
                })
            }
        }
    };
}

pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    named_enum! {
        /// A test enum.
        enum Colour ("colour") {
            /// Red.
            Red = "red",
            /// Dark blue.
            DarkBlue = "dark-blue",
        }
    }

    #[test]
    fn names_round_trip_and_errors_list_the_choices() {
        assert_eq!("dark-blue".parse::<Colour>().unwrap(), Colour::DarkBlue);
        assert_eq!(Colour::Red.to_string(), "red");
        let err = "green".parse::<Colour>().unwrap_err().to_string();
        assert_eq!(err, "unknown colour \"green\": use one of red, dark-blue");
    }
}
