//! Great-circle geometry for the location rules (`spec/policy.md`, section 2).
//!
//! The spec measures on a sphere (haversine), not on the WGS-84 ellipsoid: the error against the
//! geodesic is at most about 0.5%, far below the accuracy radius of an IP geolocation.

/// A point on the Earth, in degrees (WGS 84 latitude and longitude): where a login was
/// geolocated.
///
/// ```
/// use riskledger_projections::geo::Point;
///
/// let manila = Point { lat_deg: 14.6, lon_deg: 120.98 };
/// assert_eq!(manila, Point::new(14.6, 120.98));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Latitude, degrees north (negative south), -90 to 90.
    pub lat_deg: f64,
    /// Longitude, degrees east (negative west), -180 to 180.
    pub lon_deg: f64,
}

impl Point {
    /// The point at `lat_deg`, `lon_deg` (degrees, latitude first). Not checked: the events
    /// crate validates coordinates on input.
    ///
    /// ```
    /// use riskledger_projections::geo::Point;
    ///
    /// let london = Point::new(51.5074, -0.1278);
    /// assert_eq!((london.lat_deg, london.lon_deg), (51.5074, -0.1278));
    /// ```
    pub fn new(lat_deg: f64, lon_deg: f64) -> Self {
        Point { lat_deg, lon_deg }
    }
}

/// Great-circle distance between two points on a sphere of `radius_km`, by the haversine
/// formula. Total: any input gives a number (NaN in, NaN out); never panics.
///
/// It is `arc_km(half_central_angle(a, b), radius_km)`, bit for bit: the accounts fold keeps
/// the half angle of each located login to the one before it (rounded up to an `f32`), so
/// that bounding a pair's distance at any `T` under any radius costs two multiplications; a
/// pair the bound cannot settle is measured with this function's own two steps.
///
/// ```
/// use riskledger_projections::geo::{haversine_km, Point};
///
/// let radius_km = 6_371.008_8; // the policy's default
/// let london_to_paris = haversine_km(Point::new(51.5074, -0.1278), Point::new(48.8566, 2.3522), radius_km);
/// assert_eq!(london_to_paris.round(), 344.0);
/// let equator_degree = haversine_km(Point::new(0.0, 10.0), Point::new(0.0, 11.0), radius_km);
/// assert!((equator_degree - radius_km.to_radians()).abs() < 1e-9);
/// ```
pub fn haversine_km(a: Point, b: Point, radius_km: f64) -> f64 {
    arc_km(half_central_angle(a, b), radius_km)
}

/// Half the central angle between two points, in radians: the trigonometric part of the
/// haversine formula, which does not depend on the radius. Total, like [`haversine_km`].
/// Keep it to measure one pair of points under several radii.
///
/// ```
/// use riskledger_projections::geo::{half_central_angle, Point};
///
/// let quarter = half_central_angle(Point::new(0.0, 0.0), Point::new(0.0, 90.0));
/// assert!((quarter - std::f64::consts::FRAC_PI_4).abs() < 1e-15); // half of 90 degrees
/// assert!(half_central_angle(Point::new(f64::NAN, 0.0), Point::new(0.0, 0.0)).is_nan());
/// ```
pub fn half_central_angle(a: Point, b: Point) -> f64 {
    let lat_a = a.lat_deg.to_radians();
    let lat_b = b.lat_deg.to_radians();
    let half_dlat = (lat_b - lat_a) / 2.0;
    let half_dlon = (b.lon_deg - a.lon_deg).to_radians() / 2.0;
    let h = half_dlat.sin().powi(2) + lat_a.cos() * lat_b.cos() * half_dlon.sin().powi(2);
    // Rounding can push h a hair outside [0, 1] for antipodal points; asin would give NaN.
    let h = h.clamp(0.0, 1.0);
    h.sqrt().asin()
}

/// The length of the arc of `half_angle` (see [`half_central_angle`]) on a sphere of
/// `radius_km`: `2 × radius × half_angle`, evaluated in that order.
///
/// ```
/// use riskledger_projections::geo::{arc_km, half_central_angle, haversine_km, Point};
///
/// let (a, b) = (Point::new(51.5074, -0.1278), Point::new(40.7128, -74.006));
/// let half_angle = half_central_angle(a, b);
/// for radius_km in [6_371.0, 6_371.008_8] {
///     assert_eq!(arc_km(half_angle, radius_km).to_bits(), haversine_km(a, b, radius_km).to_bits());
/// }
/// ```
#[inline]
pub fn arc_km(half_angle: f64, radius_km: f64) -> f64 {
    2.0 * radius_km * half_angle
}

/// How far apart two located logins are at least, given how far off each position may be:
/// `max(0, d − accuracy_a − accuracy_b)`.
///
/// ```
/// use riskledger_projections::geo::effective_distance_km;
///
/// assert_eq!(effective_distance_km(600.0, 50.0, 50.0), 500.0);
/// assert_eq!(effective_distance_km(80.0, 50.0, 50.0), 0.0); // the radii overlap
/// ```
pub fn effective_distance_km(distance_km: f64, accuracy_a_km: f64, accuracy_b_km: f64) -> f64 {
    let effective = distance_km - accuracy_a_km - accuracy_b_km;
    if effective > 0.0 {
        effective
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: f64 = 6371.0088;

    #[test]
    fn same_point_is_zero() {
        let p = Point::new(51.5, -0.12);
        assert_eq!(haversine_km(p, p, R), 0.0);
    }

    #[test]
    fn antipodes_are_half_the_circumference() {
        let d = haversine_km(Point::new(0.0, 0.0), Point::new(0.0, 180.0), R);
        assert!((d - std::f64::consts::PI * R).abs() < 1e-6, "{d}");
    }

    #[test]
    fn one_degree_of_equator() {
        let d = haversine_km(Point::new(0.0, 10.0), Point::new(0.0, 11.0), R);
        assert!((d - R.to_radians()).abs() < 1e-9, "{d}");
    }

    /// The split into angle and arc is the formula it replaced, to the last bit.
    #[test]
    fn split_formula_is_bit_identical() {
        let reference = |a: Point, b: Point, radius_km: f64| {
            let lat_a = a.lat_deg.to_radians();
            let lat_b = b.lat_deg.to_radians();
            let half_dlat = (lat_b - lat_a) / 2.0;
            let half_dlon = (b.lon_deg - a.lon_deg).to_radians() / 2.0;
            let h = half_dlat.sin().powi(2) + lat_a.cos() * lat_b.cos() * half_dlon.sin().powi(2);
            2.0 * radius_km * h.clamp(0.0, 1.0).sqrt().asin()
        };
        let points = [
            Point::new(51.5074, -0.1278),
            Point::new(40.7128, -74.006),
            Point::new(-33.8688, 151.2093),
            Point::new(0.0, 180.0),
            Point::new(90.0, 0.0),
            Point::new(48.85, 2.35),
        ];
        for a in points {
            for b in points {
                for radius in [R, 6_371.0, 1.0] {
                    let split = arc_km(half_central_angle(a, b), radius);
                    assert_eq!(split.to_bits(), reference(a, b, radius).to_bits());
                    assert_eq!(haversine_km(a, b, radius).to_bits(), split.to_bits());
                }
            }
        }
    }

    #[test]
    fn effective_distance_never_negative() {
        assert_eq!(effective_distance_km(80.0, 50.0, 50.0), 0.0);
        assert_eq!(effective_distance_km(600.0, 50.0, 50.0), 500.0);
    }

    #[test]
    fn nan_does_not_panic() {
        let d = haversine_km(Point::new(f64::NAN, 0.0), Point::new(0.0, 0.0), R);
        assert!(d.is_nan());
        assert_eq!(effective_distance_km(f64::NAN, 1.0, 1.0), 0.0);
    }
}
