//! The enumerations of the `ietf-dots-telemetry` module (RFC 9244 Section 11.1): their YANG names
//! (JSON) and values (CBOR).

use crate::model::enums::dots_enum;

dots_enum! {
    /// `unit` (RFC 9244 typedef `unit`): the unit of a traffic value. DOTS agents auto-scale, so a
    /// list carries at most one unit per [`UnitClass`].
    pub enum Unit {
        /// 1: packets per second.
        PacketPs = 1, "packet-ps";
        /// 2: bits per second.
        BitPs = 2, "bit-ps";
        /// 3: bytes per second.
        BytePs = 3, "byte-ps";
        /// 4: kilopackets per second.
        KilopacketPs = 4, "kilopacket-ps";
        /// 5: kilobits per second.
        KilobitPs = 5, "kilobit-ps";
        /// 6: kilobytes per second.
        KilobytePs = 6, "kilobyte-ps";
        /// 7: megapackets per second.
        MegapacketPs = 7, "megapacket-ps";
        /// 8: megabits per second.
        MegabitPs = 8, "megabit-ps";
        /// 9: megabytes per second.
        MegabytePs = 9, "megabyte-ps";
        /// 10: gigapackets per second.
        GigapacketPs = 10, "gigapacket-ps";
        /// 11: gigabits per second.
        GigabitPs = 11, "gigabit-ps";
        /// 12: gigabytes per second.
        GigabytePs = 12, "gigabyte-ps";
        /// 13: terapackets per second.
        TerapacketPs = 13, "terapacket-ps";
        /// 14: terabits per second.
        TerabitPs = 14, "terabit-ps";
        /// 15: terabytes per second.
        TerabytePs = 15, "terabyte-ps";
        /// 16: petapackets per second.
        PetapacketPs = 16, "petapacket-ps";
        /// 17: petabits per second.
        PetabitPs = 17, "petabit-ps";
        /// 18: petabytes per second.
        PetabytePs = 18, "petabyte-ps";
        /// 19: exapackets per second.
        ExapacketPs = 19, "exapacket-ps";
        /// 20: exabits per second.
        ExabitPs = 20, "exabit-ps";
        /// 21: exabytes per second.
        ExabytePs = 21, "exabyte-ps";
        /// 22: zettapackets per second.
        ZettapacketPs = 22, "zettapacket-ps";
        /// 23: zettabits per second.
        ZettabitPs = 23, "zettabit-ps";
        /// 24: zettabytes per second.
        ZettabytePs = 24, "zettabyte-ps";
    }
}

impl Unit {
    /// The unit class: packets, bits or bytes per second (values 1, 2, 3 repeat every three
    /// units).
    pub const fn class(self) -> UnitClass {
        match (self as u8 - 1) % 3 {
            0 => UnitClass::PacketPs,
            1 => UnitClass::BitPs,
            _ => UnitClass::BytePs,
        }
    }
}

dots_enum! {
    /// `unit-class` (RFC 9244): the class of units a `unit-config` entry enables or disables.
    pub enum UnitClass {
        /// 1: packets per second.
        PacketPs = 1, "packet-ps";
        /// 2: bits per second.
        BitPs = 2, "bit-ps";
        /// 3: bytes per second.
        BytePs = 3, "byte-ps";
    }
}

dots_enum! {
    /// `measurement-interval` (RFC 9244 typedef `interval`): the period percentiles are computed
    /// over.
    pub enum Interval {
        /// 1: 5 minutes.
        Minutes5 = 1, "5-minutes";
        /// 2: 10 minutes.
        Minutes10 = 2, "10-minutes";
        /// 3: 30 minutes.
        Minutes30 = 3, "30-minutes";
        /// 4: an hour.
        Hour = 4, "hour";
        /// 5: a day.
        Day = 5, "day";
        /// 6: a week.
        Week = 6, "week";
        /// 7: a month.
        Month = 7, "month";
    }
}

impl Interval {
    /// The length in seconds (a month counted as 30 days), to compare with a [`Sample`].
    pub const fn seconds(self) -> u32 {
        match self {
            Interval::Minutes5 => 300,
            Interval::Minutes10 => 600,
            Interval::Minutes30 => 1800,
            Interval::Hour => 3600,
            Interval::Day => 86_400,
            Interval::Week => 604_800,
            Interval::Month => 2_592_000,
        }
    }
}

dots_enum! {
    /// `measurement-sample` (RFC 9244 typedef `sample`): the sampling period.
    pub enum Sample {
        /// 1: one second.
        Second = 1, "second";
        /// 2: 5 seconds.
        Seconds5 = 2, "5-seconds";
        /// 3: 30 seconds.
        Seconds30 = 3, "30-seconds";
        /// 4: one minute.
        Minute = 4, "minute";
        /// 5: 5 minutes.
        Minutes5 = 5, "5-minutes";
        /// 6: 10 minutes.
        Minutes10 = 6, "10-minutes";
        /// 7: 30 minutes.
        Minutes30 = 7, "30-minutes";
        /// 8: one hour.
        Hour = 8, "hour";
    }
}

impl Sample {
    /// The length in seconds.
    pub const fn seconds(self) -> u32 {
        match self {
            Sample::Second => 1,
            Sample::Seconds5 => 5,
            Sample::Seconds30 => 30,
            Sample::Minute => 60,
            Sample::Minutes5 => 300,
            Sample::Minutes10 => 600,
            Sample::Minutes30 => 1800,
            Sample::Hour => 3600,
        }
    }
}

dots_enum! {
    /// `attack-severity` (RFC 9244, from RFC 7970 Section 3.12.2).
    pub enum AttackSeverity {
        /// 1: no effect on the DOTS client domain.
        None = 1, "none";
        /// 2: minimal effect.
        Low = 2, "low";
        /// 3: a subset of the domain's resources is out of service.
        Medium = 3, "medium";
        /// 4: the domain is under extremely severe conditions.
        High = 4, "high";
        /// 5: the impact is not known.
        Unknown = 5, "unknown";
    }
}

dots_enum! {
    /// `supported-query-type` values (RFC 9244 typedef `query-type`): the Uri-Query filters a
    /// server supports.
    pub enum QueryType {
        /// 1: `target-prefix`.
        TargetPrefix = 1, "target-prefix";
        /// 2: `target-port`.
        TargetPort = 2, "target-port";
        /// 3: `target-protocol`.
        TargetProtocol = 3, "target-protocol";
        /// 4: `target-fqdn`.
        TargetFqdn = 4, "target-fqdn";
        /// 5: `target-uri`.
        TargetUri = 5, "target-uri";
        /// 6: `target-alias`.
        TargetAlias = 6, "target-alias";
        /// 7: `mid`.
        Mid = 7, "mid";
        /// 8: `source-prefix`.
        SourcePrefix = 8, "source-prefix";
        /// 9: `source-port`.
        SourcePort = 9, "source-port";
        /// 10: `source-icmp-type`.
        SourceIcmpType = 10, "source-icmp-type";
        /// 11: `c` (content).
        Content = 11, "content";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_classes_repeat_every_three_units() {
        assert_eq!(Unit::ALL.len(), 24);
        for u in Unit::ALL {
            let expect = match u.name().rsplit_once('-').map(|(a, _)| a) {
                Some(n) if n.ends_with("packet") => UnitClass::PacketPs,
                Some(n) if n.ends_with("bit") => UnitClass::BitPs,
                _ => UnitClass::BytePs,
            };
            assert_eq!(u.class(), expect, "{u}");
        }
    }

    #[test]
    fn values_and_names_agree_with_the_yang_module() {
        assert_eq!(Unit::MegabitPs.value(), 8);
        assert_eq!(Unit::from_name("zettabyte-ps"), Some(Unit::ZettabytePs));
        assert_eq!(Interval::from_value(7), Some(Interval::Month));
        assert_eq!(Sample::from_name("5-seconds"), Some(Sample::Seconds5));
        assert_eq!(AttackSeverity::High.value(), 4);
        assert_eq!(QueryType::from_value(11), Some(QueryType::Content));
        assert_eq!(QueryType::from_value(12), None);
        assert_eq!(UnitClass::from_value(0), None);
    }
}
