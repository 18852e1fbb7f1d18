//! Photos from the technician's phone: what kind of image a file is (by its bytes, not its
//! name), and what its camera recorded of when and where it was taken (EXIF).

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::Invalid;

/// The image types fixline keeps. HEIC is not among them: no well-kept decoder exists in the
/// Rust ecosystem to check or show it, and the phone's browser hands the app JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
}

impl ImageType {
    /// The type the bytes are, by their signature; None for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        if bytes.len() >= 4 && bytes[..3] == [0xFF, 0xD8, 0xFF] {
            Some(ImageType::Jpeg)
        } else if bytes.starts_with(PNG) {
            Some(ImageType::Png)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
        }
    }
}

/// What a photo is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoPurpose {
    /// The site, the fault or the repair.
    Site,
    /// The customer's signature, drawn on the phone.
    Signature,
}

impl PhotoPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoPurpose::Site => "site",
            PhotoPurpose::Signature => "signature",
        }
    }

    /// The purpose a multipart part's name gives.
    pub fn from_part(name: &str) -> Option<PhotoPurpose> {
        match name {
            "photo" => Some(PhotoPurpose::Site),
            "signature" => Some(PhotoPurpose::Signature),
            _ => None,
        }
    }
}

/// The action a photo goes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoStage {
    CheckIn,
    Resolve,
}

impl PhotoStage {
    pub fn parse(field: &str, s: &str) -> Result<PhotoStage, Invalid> {
        match s {
            "check_in" => Ok(PhotoStage::CheckIn),
            "resolve" => Ok(PhotoStage::Resolve),
            _ => Err(Invalid::new(field, "must be check_in or resolve")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PhotoStage::CheckIn => "check_in",
            PhotoStage::Resolve => "resolve",
        }
    }
}

/// What the camera recorded, when it recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CameraFacts {
    /// When the photo was taken (UTC). A camera time without an offset is read in the
    /// deployment's time zone, as phones write local time.
    pub taken_at: Option<NaiveDateTime>,
    /// Where (WGS-84, as GPS receivers give it): (lat, lon).
    pub taken_at_point: Option<(f64, f64)>,
}

impl CameraFacts {
    /// Reads the EXIF of a JPEG or PNG; nothing when it has none or it does not parse.
    pub fn read(bytes: &[u8], tz: Tz) -> CameraFacts {
        let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes))
        else {
            return CameraFacts::default();
        };
        CameraFacts {
            taken_at: taken_at(&exif, tz),
            taken_at_point: gps(&exif),
        }
    }
}

fn ascii(exif: &exif::Exif, tag: exif::Tag) -> Option<Vec<u8>> {
    match &exif.get_field(tag, exif::In::PRIMARY)?.value {
        exif::Value::Ascii(v) => v.first().cloned(),
        _ => None,
    }
}

fn taken_at(exif: &exif::Exif, tz: Tz) -> Option<NaiveDateTime> {
    let raw =
        ascii(exif, exif::Tag::DateTimeOriginal).or_else(|| ascii(exif, exif::Tag::DateTime))?;
    let mut dt = exif::DateTime::from_ascii(&raw).ok()?;
    if let Some(offset) = ascii(exif, exif::Tag::OffsetTimeOriginal) {
        let _ = dt.parse_offset(&offset);
    }
    let local = NaiveDate::from_ymd_opt(dt.year.into(), dt.month.into(), dt.day.into())?
        .and_hms_opt(dt.hour.into(), dt.minute.into(), dt.second.into())?;
    match dt.offset {
        Some(minutes) => Some(local - chrono::Duration::minutes(minutes.into())),
        None => tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.naive_utc()),
    }
}

fn gps(exif: &exif::Exif) -> Option<(f64, f64)> {
    let degrees = |tag, reference, negative: u8| -> Option<f64> {
        let exif::Value::Rational(parts) = &exif.get_field(tag, exif::In::PRIMARY)?.value else {
            return None;
        };
        let [d, m, s] = parts.as_slice() else {
            return None;
        };
        let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let sign = match ascii(exif, reference)?.first() {
            Some(c) if *c == negative => -1.0,
            _ => 1.0,
        };
        Some(sign * value)
    };
    let lat = degrees(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, b'S')?;
    let lon = degrees(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, b'W')?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && lat.is_finite())
        .then_some((lat, lon))
}

/// A JPEG with the given EXIF fields, for tests: the camera's time (`YYYY:MM:DD HH:MM:SS`),
/// its offset (`+08:00`) and its GPS position.
pub fn jpeg_with_exif(
    taken: Option<&str>,
    offset: Option<&str>,
    at: Option<(f64, f64)>,
) -> Vec<u8> {
    use exif::experimental::Writer;
    use exif::{Field, In, Rational, Tag, Value};
    let mut fields = vec![];
    if let Some(t) = taken {
        fields.push(Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![t.as_bytes().to_vec()]),
        });
    }
    if let Some(o) = offset {
        fields.push(Field {
            tag: Tag::OffsetTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![o.as_bytes().to_vec()]),
        });
    }
    let dms = |v: f64| {
        let v = v.abs();
        let d = v.trunc();
        let m = ((v - d) * 60.0).trunc();
        let s = ((v - d) * 60.0 - m) * 60.0;
        Value::Rational(vec![
            Rational::from((d as u32, 1)),
            Rational::from((m as u32, 1)),
            Rational::from(((s * 10_000.0).round() as u32, 10_000)),
        ])
    };
    if let Some((lat, lon)) = at {
        let ns = if lat < 0.0 { "S" } else { "N" };
        let ew = if lon < 0.0 { "W" } else { "E" };
        for (tag, value) in [
            (
                Tag::GPSLatitudeRef,
                Value::Ascii(vec![ns.as_bytes().to_vec()]),
            ),
            (Tag::GPSLatitude, dms(lat)),
            (
                Tag::GPSLongitudeRef,
                Value::Ascii(vec![ew.as_bytes().to_vec()]),
            ),
            (Tag::GPSLongitude, dms(lon)),
        ] {
            fields.push(Field {
                tag,
                ifd_num: In::PRIMARY,
                value,
            });
        }
    }
    if fields.is_empty() {
        // A JFIF header and nothing else: an image without EXIF.
        return b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xD9"
            .to_vec();
    }
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer
        .write(&mut tiff, false)
        .expect("EXIF for a test image");
    let tiff = tiff.into_inner();
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
    let len = (tiff.len() + 8) as u16;
    jpeg.extend_from_slice(&len.to_be_bytes());
    jpeg.extend_from_slice(b"Exif\0\0");
    jpeg.extend_from_slice(&tiff);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    jpeg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn an_image_is_known_by_its_bytes() {
        assert_eq!(
            ImageType::sniff(&jpeg_with_exif(None, None, None)),
            Some(ImageType::Jpeg)
        );
        assert_eq!(
            ImageType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageType::Png)
        );
        // A HEIC file, a PDF, a script renamed .jpg, nothing.
        assert_eq!(
            ImageType::sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            None
        );
        assert_eq!(ImageType::sniff(b"%PDF-1.7"), None);
        assert_eq!(ImageType::sniff(b"<script>alert(1)</script>"), None);
        assert_eq!(ImageType::sniff(b""), None);
    }

    #[test]
    fn the_camera_time_and_place_are_read() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let jpeg = jpeg_with_exif(
            Some("2026:11:23 09:40:12"),
            Some("+08:00"),
            Some((31.8712, 120.5505)),
        );
        let facts = CameraFacts::read(&jpeg, tz);
        assert_eq!(facts.taken_at, Some(at("2026-11-23 01:40:12")));
        let (lat, lon) = facts.taken_at_point.unwrap();
        assert!((lat - 31.8712).abs() < 1e-5 && (lon - 120.5505).abs() < 1e-5);
        // Without an offset, the camera's time is the deployment's local time.
        let local = CameraFacts::read(&jpeg_with_exif(Some("2026:11:23 09:40:12"), None, None), tz);
        assert_eq!(local.taken_at, Some(at("2026-11-23 01:40:12")));
        assert_eq!(local.taken_at_point, None);
        // South and west are negative.
        let south = CameraFacts::read(&jpeg_with_exif(None, None, Some((-33.5, -70.25))), tz);
        let (lat, lon) = south.taken_at_point.unwrap();
        assert!((lat + 33.5).abs() < 1e-5 && (lon + 70.25).abs() < 1e-5);
        // No EXIF at all.
        assert_eq!(
            CameraFacts::read(b"\xFF\xD8\xFF\xD9", tz),
            CameraFacts::default()
        );
    }
}
