//! Whether a JPEG file holds its whole picture: a walk over its markers to the end-of-image marker.
//!
//! The JPEG decoder underneath `image` (zune-jpeg, which `image` runs in its lenient mode) fills
//! whatever a cut-short file lacks with grey and reports success. So before decoding, the file's
//! segments are walked: each marker segment is skipped by its length (an EXIF thumbnail, with its
//! own end marker, lies inside one), each scan's entropy-coded data up to the next marker; the
//! picture is complete only if the end-of-image marker (`FF D9`) is reached. Data after it (a
//! second picture of a multi-picture file, padding) does not matter.

/// The marker byte of start-of-image.
const SOI: u8 = 0xD8;
/// The marker byte of end-of-image.
const EOI: u8 = 0xD9;
/// The marker byte of start-of-scan.
const SOS: u8 = 0xDA;

/// Whether `bytes`, a JPEG file, reaches its end-of-image marker.
pub fn reaches_end_marker(bytes: &[u8]) -> bool {
    if bytes.get(..2) != Some(&[0xFF, SOI]) {
        return false;
    }
    let mut at = 2;
    loop {
        let Some((marker, after)) = next_marker(bytes, at) else {
            return false;
        };
        at = match marker {
            EOI => return true,
            // Markers without a length: restart markers, TEM, a repeated SOI.
            0xD0..=0xD7 | 0x01 | SOI => after,
            _ => {
                let Some(end) = segment_end(bytes, after) else {
                    return false;
                };
                if marker == SOS {
                    end_of_entropy_data(bytes, end)
                } else {
                    end
                }
            }
        };
    }
}

/// The next marker at or after `at` (skipping fill bytes `FF` and, leniently, stray bytes before
/// it): its byte and the position just after it.
fn next_marker(bytes: &[u8], mut at: usize) -> Option<(u8, usize)> {
    loop {
        let start = at + bytes.get(at..)?.iter().position(|&b| b == 0xFF)?;
        let code_at = start + bytes.get(start..)?.iter().position(|&b| b != 0xFF)?;
        match bytes[code_at] {
            // A stuffed zero is not a marker; look further.
            0x00 => at = code_at + 1,
            code => return Some((code, code_at + 1)),
        }
    }
}

/// The end of a marker segment whose two length bytes start at `at` (the length counts itself).
fn segment_end(bytes: &[u8], at: usize) -> Option<usize> {
    let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    if length < 2 {
        return None;
    }
    let end = at + length;
    (end <= bytes.len()).then_some(end)
}

/// Where a scan's entropy-coded data (starting at `at`) ends: at the first `FF` that begins a
/// marker other than a restart marker (`FF 00` is a stuffed byte, `FF D0`–`FF D7` restarts).
fn end_of_entropy_data(bytes: &[u8], mut at: usize) -> usize {
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        let ff = at + offset;
        match bytes.get(ff + 1) {
            Some(0x00 | 0xD0..=0xD7) => at = ff + 2,
            Some(_) => return ff,
            None => return bytes.len(),
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal file: SOI, a comment, a scan with a stuffed byte and a restart marker, EOI.
    fn tiny() -> Vec<u8> {
        let mut jpeg = vec![0xFF, SOI, 0xFF, 0xFE, 0x00, 0x04, 0xFF, 0xD9];
        jpeg.extend_from_slice(&[0xFF, SOS, 0x00, 0x03, 0x01]);
        jpeg.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        jpeg.extend_from_slice(&[0xFF, EOI]);
        jpeg
    }

    #[test]
    fn the_end_marker_is_found_past_lookalikes() {
        // The comment holds FF D9 and the scan holds FF 00 and FF D0: none of them ends the file.
        let jpeg = tiny();
        assert!(reaches_end_marker(&jpeg));
        for len in 0..jpeg.len() {
            assert!(!reaches_end_marker(&jpeg[..len]), "cut at {len}");
        }
    }

    #[test]
    fn data_after_the_end_is_ignored() {
        let mut jpeg = tiny();
        jpeg.extend_from_slice(&[0xFF, SOI, 0x00, 0x00]);
        assert!(reaches_end_marker(&jpeg));
    }

    #[test]
    fn a_bad_segment_length_is_not_complete() {
        let jpeg = [0xFF, SOI, 0xFF, 0xE0, 0x00, 0x01, 0xFF, EOI];
        assert!(!reaches_end_marker(&jpeg));
        assert!(!reaches_end_marker(b"not a jpeg"));
    }
}
