//! A set of weekdays stored as Coder's bitmask (bit 0 = Monday … bit 6 = Sunday).

use chrono::Weekday;

/// A set of weekdays, as Coder stores `autostop_requirement_days_of_week` and the autostart
/// allowed days: bit 0 is Monday, bit 6 is Sunday, bit 7 is unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

impl Weekdays {
    /// Every day of the week.
    pub const ALL: Self = Self(0b0111_1111);
    /// No day at all.
    pub const NONE: Self = Self(0);

    /// Builds the set from Coder's bitmask; the unused eighth bit is dropped.
    pub fn from_bits(bits: u8) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// Builds the set from a list of days.
    pub fn from_days(days: impl IntoIterator<Item = Weekday>) -> Self {
        Self(days.into_iter().fold(0, |bits, day| bits | Self::bit(day)))
    }

    /// The bitmask, bit 0 = Monday.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Self::bit(day) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn bit(day: Weekday) -> u8 {
        1 << day.num_days_from_monday()
    }
}

impl Default for Weekdays {
    /// Every day, Coder's default for autostart.
    fn default() -> Self {
        Self::ALL
    }
}

#[cfg(test)]
mod tests {
    use chrono::Weekday;

    use super::Weekdays;

    #[test]
    fn bit_zero_is_monday_and_bit_six_is_sunday() {
        let days = Weekdays::from_days([Weekday::Mon, Weekday::Sun]);
        assert_eq!(days.bits(), 0b0100_0001);
        assert!(days.contains(Weekday::Mon) && days.contains(Weekday::Sun));
        assert!(!days.contains(Weekday::Tue));
        assert_eq!(Weekdays::from_bits(0xff), Weekdays::ALL);
    }
}
