//! Where a located login was, in 16 bytes instead of three `f64`s and a country's 26: the book
//! keeps millions of located logins, and a geolocation gives a few decimals.
//!
//! A latitude or longitude is kept as an integer count of 10⁻⁷ degrees, the accuracy as an
//! `f32`, each only when it reads back to the very `f64` it was made from (compared bit for
//! bit; decoding `n / 10⁷` is one correctly rounded division, so any coordinate of up to seven
//! decimals does). Any other place (more decimals, `-0.0`, an accuracy of `0.1` km, which no
//! `f32` holds) is kept as given, boxed. So every rule reads exactly the numbers of the event.

use riskledger_events::Country;

const UNITS_PER_DEGREE: f64 = 1e7;

/// A login's latitude, longitude (degrees), accuracy (km) and country, exactly as given. The
/// country sits in bytes the numbers leave free.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Place {
    /// Degrees × 10⁷ and an accuracy in an `f32`, each of which reads back bit for bit.
    Exact {
        lat_units: i32,
        lon_units: i32,
        accuracy_km: f32,
        country: Country,
    },
    /// Anything else, as given: latitude, longitude, accuracy.
    Odd {
        country: Country,
        numbers: Box<[f64; 3]>,
    },
}

/// `degrees` as a count of 10⁻⁷ degrees, if that reads back as the same `f64`. The product
/// is within a few ulps of that count, so the count is the product truncated toward zero or
/// one further from it (no call to `round`, which is a libm call on baseline x86-64: a reopen
/// makes millions of places).
fn units_of(degrees: f64) -> Option<i32> {
    let scaled = degrees * UNITS_PER_DEGREE;
    if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&scaled) {
        return None;
    }
    let toward_zero = scaled as i32;
    let further = if scaled < 0.0 {
        toward_zero.checked_sub(1)
    } else {
        toward_zero.checked_add(1)
    };
    let reads_back = |units: &i32| degrees_of(*units).to_bits() == degrees.to_bits();
    std::iter::once(toward_zero).chain(further).find(reads_back)
}

#[inline]
fn degrees_of(units: i32) -> f64 {
    f64::from(units) / UNITS_PER_DEGREE
}

/// `accuracy_km` as an `f32`, if that widens back to the same `f64`.
fn narrow_of(accuracy_km: f64) -> Option<f32> {
    let narrow = accuracy_km as f32;
    (f64::from(narrow).to_bits() == accuracy_km.to_bits()).then_some(narrow)
}

impl Place {
    pub(crate) fn new(lat: f64, lon: f64, accuracy_km: f64, country: Country) -> Self {
        match (units_of(lat), units_of(lon), narrow_of(accuracy_km)) {
            (Some(lat_units), Some(lon_units), Some(accuracy_km)) => Place::Exact {
                lat_units,
                lon_units,
                accuracy_km,
                country,
            },
            _ => Place::Odd {
                country,
                numbers: Box::new([lat, lon, accuracy_km]),
            },
        }
    }

    #[inline]
    pub(crate) fn lat(&self) -> f64 {
        match self {
            Place::Exact { lat_units, .. } => degrees_of(*lat_units),
            Place::Odd { numbers, .. } => numbers[0],
        }
    }

    #[inline]
    pub(crate) fn lon(&self) -> f64 {
        match self {
            Place::Exact { lon_units, .. } => degrees_of(*lon_units),
            Place::Odd { numbers, .. } => numbers[1],
        }
    }

    #[inline]
    pub(crate) fn accuracy_km(&self) -> f64 {
        match self {
            Place::Exact { accuracy_km, .. } => f64::from(*accuracy_km),
            Place::Odd { numbers, .. } => numbers[2],
        }
    }

    #[inline]
    pub(crate) fn country(&self) -> Country {
        match self {
            Place::Exact { country, .. } | Place::Odd { country, .. } => *country,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed, TestRunner};

    fn reads_back(lat: f64, lon: f64, accuracy_km: f64) -> Place {
        let country = Country(*b"PK");
        let place = Place::new(lat, lon, accuracy_km, country);
        assert_eq!(place.lat().to_bits(), lat.to_bits(), "{lat}");
        assert_eq!(place.lon().to_bits(), lon.to_bits(), "{lon}");
        assert_eq!(place.accuracy_km().to_bits(), accuracy_km.to_bits());
        assert_eq!(place.country(), country);
        place
    }

    #[test]
    fn geolocations_are_exact_and_anything_else_is_kept_as_given() {
        assert_eq!(std::mem::size_of::<Place>(), 16);
        for (lat, lon, accuracy_km) in [
            (31.5033, 74.3544, 17.0),
            (-37.7829, 144.9603, 16.0),
            (90.0, -180.0, 50.0),
            (-90.0, 180.0, 0.0),
            (14.6, 120.98, 2.5),
            (0.000_000_1, -0.123_456_7, 1e6),
        ] {
            assert!(matches!(
                reads_back(lat, lon, accuracy_km),
                Place::Exact { .. }
            ));
        }
        for (lat, lon, accuracy_km) in [
            (31.503_300_01, 74.3544, 17.0), // eight decimals
            (-0.0, 74.3544, 17.0),          // the sign of zero
            (31.5033, 74.3544, 0.1),        // no f32 is 0.1
            (31.5033, 74.3544, 1e300),
            (1e300, 74.3544, 17.0),
        ] {
            assert!(matches!(
                reads_back(lat, lon, accuracy_km),
                Place::Odd { .. }
            ));
        }
    }

    /// Every coordinate of up to seven decimals takes the compact form: half of them need the
    /// count one further from zero than the truncated product (`31.5033 × 10⁷` is
    /// 315032999.99999994).
    #[test]
    fn every_coordinate_of_up_to_seven_decimals_is_compact() {
        for decimals in [1u32, 2, 4, 7] {
            // `n / 10^d` is the f64 a parser gives for that decimal (both exact, one rounding).
            let scale = 10i64.pow(decimals);
            let limit = 180 * scale;
            let step = (limit / 100_000).max(1) as usize + 1;
            for n in (-limit..=limit).step_by(step) {
                let degrees = n as f64 / scale as f64;
                assert!(units_of(degrees).is_some(), "{degrees}");
            }
        }
        assert!(units_of(31.5033).is_some());
        assert!(units_of(-37.7829).is_some());
    }

    /// Every finite coordinate and accuracy reads back bit for bit, whichever form it took.
    #[test]
    fn every_place_reads_back_bit_for_bit() {
        const SEED: u64 = 0x0009_1ace_0008;
        println!("proptest seed {SEED:#x}");
        let config = Config {
            cases: 20_000,
            rng_seed: RngSeed::Fixed(SEED),
            ..Config::default()
        };
        let decimals = (-900_000_000i64..=900_000_000, 0u32..9)
            .prop_map(|(n, d)| n as f64 / 10f64.powi(d as i32 + 2));
        let coordinate = prop_oneof![
            2 => decimals,
            1 => -180.0f64..=180.0,
            1 => any::<f64>().prop_filter("finite", |x| x.is_finite()),
        ];
        let accuracy = prop_oneof![
            2 => (0u32..100_000).prop_map(|n| f64::from(n) / 4.0),
            1 => 0.0f64..1_000.0,
        ];
        TestRunner::new(config)
            .run(
                &(coordinate.clone(), coordinate, accuracy),
                |(lat, lon, accuracy_km)| {
                    reads_back(lat, lon, accuracy_km);
                    Ok(())
                },
            )
            .unwrap();
    }
}
