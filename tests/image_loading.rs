//! Loading photos: every supported format, colour types, EXIF orientation, bad files, JPEGs cut
//! short, paths that are not ordinary files, bombs and sizes.
//!
//! All inputs are generated here with the `image` crate's encoders (or crafted byte by byte),
//! except the progressive JPEG, which the `image` crate cannot write:
//! `tests/golden/make_progressive_jpeg.py` wrote it with Pillow.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use diffuscope::data::Picture;
use diffuscope::data::bundled::BundledPhoto;
use diffuscope::data::file::{FileKind, FileRefusal};
use diffuscope::data::load::{
    LoadError, LoadedPicture, MAX_COMPUTE_PIXELS, MAX_FILE_BYTES, MAX_HEADER_PIXELS,
    MAX_HEADER_SIDE, fitted_size, load_picture_from_bytes, load_picture_from_path,
};
use diffuscope::i18n::Lang;
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{
    DynamicImage, Frame, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, RgbImage, Rgba, RgbaImage,
};

// ---------------------------------------------------------------- helpers

/// Encodes `image` in `format` with the image crate's default encoder.
fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// A deterministic colourful RGB test pattern.
fn pattern(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let r = (x * 255 / width.max(2).saturating_sub(1).max(1)).min(255);
        let g = (y * 255 / height.max(2).saturating_sub(1).max(1)).min(255);
        let b = (x * 7 + y * 13) % 256;
        Rgb([r as u8, g as u8, b as u8])
    })
}

/// Noise-like pixels, so compressed files are not tiny.
fn noise(width: u32, height: u32) -> RgbImage {
    let mut state: u32 = 0x1234_5678;
    RgbImage::from_fn(width, height, |_, _| {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        };
        Rgb([next(), next(), next()])
    })
}

/// The RGB bytes of the picture's pixel at (x, y).
fn pixel(picture: &Picture, x: usize, y: usize) -> [u8; 3] {
    let bytes = picture.to_rgb8();
    let i = (y * picture.width + x) * 3;
    [bytes[i], bytes[i + 1], bytes[i + 2]]
}

fn close(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= tolerance)
}

fn assert_size(loaded: &LoadedPicture, width: usize, height: usize) {
    assert_eq!(
        (loaded.picture.width, loaded.picture.height),
        (width, height)
    );
    assert_eq!(
        loaded.picture.values.len(),
        width * height * Picture::CHANNELS
    );
    assert!(
        loaded
            .picture
            .values
            .iter()
            .all(|v| v.is_finite() && (-1.0..=1.0).contains(v))
    );
}

/// Writes `bytes` to a file called `name` in a fresh temporary folder and loads it by path.
fn load_via_file(name: &str, bytes: &[u8]) -> Result<LoadedPicture, LoadError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    load_picture_from_path(&path)
}

/// PNG's CRC-32 (the same as zlib's), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A well-formed PNG whose header claims `width × height` RGB pixels, with a tiny (wrong) IDAT.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, adaptive filter, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    // An empty zlib stream (one final stored block of length 0).
    png_chunk(
        &mut png,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01,
        ],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// Inserts an APP1 Exif segment with the given Orientation tag right after the JPEG's SOI marker.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut tiff = b"MM\x00\x2A\x00\x00\x00\x08".to_vec(); // big-endian TIFF header, IFD at 8
    tiff.extend_from_slice(&1_u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112_u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3_u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1_u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    tiff.extend_from_slice(&0_u32.to_be_bytes()); // no next IFD
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let length = u16::try_from(payload.len() + 2).unwrap();

    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

/// Every error must read as a sentence in both languages.
fn assert_sentences(error: &LoadError) {
    let en = error.sentence(Lang::En);
    let zh = error.sentence(Lang::Zh);
    assert!(!en.trim().is_empty(), "{error:?}");
    assert!(en.ends_with('.'), "{en}");
    assert_eq!(en, error.to_string(), "Display is the English sentence");
    assert!(!zh.trim().is_empty(), "{error:?}");
    assert!(has_chinese(&zh), "{zh}");
    assert!(zh.ends_with('。'), "{zh}");
}

// ---------------------------------------------------------------- bundled photos

#[test]
fn bundled_photos_load_with_their_sizes() {
    let expected = [
        (BundledPhoto::Cat, 451, 300),
        (BundledPhoto::Coffee, 600, 400),
        (BundledPhoto::Astronaut, 512, 512),
    ];
    assert_eq!(BundledPhoto::ALL.len(), expected.len());
    assert_eq!(BundledPhoto::default(), BundledPhoto::Cat);
    for (photo, width, height) in expected {
        assert!(BundledPhoto::ALL.contains(&photo));
        let loaded = photo.load().unwrap();
        assert_size(&loaded, width, height);
        assert_eq!(
            (loaded.original_width, loaded.original_height),
            (width as u32, height as u32)
        );
        assert!(!loaded.scaled_down);
        assert_eq!(loaded.note(Lang::En), None);
        assert!(!photo.name(Lang::En).is_empty());
        assert!(has_chinese(photo.name(Lang::Zh)));
        // Not a flat picture: the photo has real contrast.
        let (lo, hi) = loaded
            .picture
            .values
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!(hi - lo > 1.0, "{photo:?}: {lo}..{hi}");
    }
}

// ---------------------------------------------------------------- formats and colour types

#[test]
fn png_rgb8_round_trips_exactly() {
    let image = pattern(37, 23);
    let loaded = load_via_file(
        "pattern.png",
        &encode(&image.clone().into(), ImageFormat::Png),
    )
    .unwrap();
    assert_size(&loaded, 37, 23);
    assert_eq!(loaded.picture.to_rgb8(), image.into_raw());
    assert!(!loaded.scaled_down);
}

#[test]
fn grayscale_8_bit_becomes_grey_rgb() {
    let gray = ImageBuffer::from_fn(16, 9, |x, y| Luma([(x * 16 + y) as u8]));
    let bytes = encode(&DynamicImage::ImageLuma8(gray.clone()), ImageFormat::Png);
    let loaded = load_picture_from_bytes(&bytes).unwrap();
    assert_size(&loaded, 16, 9);
    for (x, y, value) in gray.enumerate_pixels() {
        let v = value[0];
        assert_eq!(pixel(&loaded.picture, x as usize, y as usize), [v, v, v]);
    }
}

#[test]
fn grayscale_with_alpha_is_composited_over_white() {
    let image = ImageBuffer::from_fn(4, 1, |x, _| match x {
        0 => LumaA([0_u8, 255]), // opaque black
        1 => LumaA([0, 0]),      // transparent black
        2 => LumaA([0, 128]),    // half black
        _ => LumaA([200, 255]),  // opaque grey
    });
    let bytes = encode(&DynamicImage::ImageLumaA8(image), ImageFormat::Png);
    let loaded = load_picture_from_bytes(&bytes).unwrap();
    assert_size(&loaded, 4, 1);
    assert_eq!(pixel(&loaded.picture, 0, 0), [0, 0, 0]);
    assert_eq!(pixel(&loaded.picture, 1, 0), [255, 255, 255]);
    assert!(close(pixel(&loaded.picture, 2, 0), [127, 127, 127], 1));
    assert_eq!(pixel(&loaded.picture, 3, 0), [200, 200, 200]);
}

#[test]
fn rgb_16_bit_png_becomes_8_bit_rgb() {
    let image: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(10, 6, |x, y| {
        Rgb([(x * 6553) as u16, (y * 13107) as u16, 65535])
    });
    let bytes = encode(&DynamicImage::ImageRgb16(image.clone()), ImageFormat::Png);
    let loaded = load_picture_from_bytes(&bytes).unwrap();
    assert_size(&loaded, 10, 6);
    for (x, y, p) in image.enumerate_pixels() {
        let expected = p.0.map(|c| ((u32::from(c) * 255 + 32767) / 65535) as u8);
        assert!(close(
            pixel(&loaded.picture, x as usize, y as usize),
            expected,
            1
        ));
    }
}

#[test]
fn rgba_transparency_is_composited_over_white() {
    let image = RgbaImage::from_fn(3, 2, |x, y| match (x, y) {
        (0, 0) => Rgba([255, 0, 0, 255]), // opaque red
        (1, 0) => Rgba([255, 0, 0, 0]),   // fully transparent red: white
        (2, 0) => Rgba([0, 0, 0, 128]),   // half-transparent black: mid grey
        _ => Rgba([0, 0, 255, 255]),      // opaque blue
    });
    let bytes = encode(&DynamicImage::ImageRgba8(image), ImageFormat::Png);
    let loaded = load_via_file("transparent.png", &bytes).unwrap();
    assert_size(&loaded, 3, 2);
    assert_eq!(pixel(&loaded.picture, 0, 0), [255, 0, 0]);
    assert_eq!(pixel(&loaded.picture, 1, 0), [255, 255, 255]);
    assert!(close(pixel(&loaded.picture, 2, 0), [127, 127, 127], 1));
    assert_eq!(pixel(&loaded.picture, 0, 1), [0, 0, 255]);
}

#[test]
fn rgba_16_bit_png_loads() {
    let image: ImageBuffer<Rgba<u16>, Vec<u16>> = ImageBuffer::from_fn(5, 5, |x, _| {
        Rgba([65535, 0, 0, if x == 0 { 0 } else { 65535 }])
    });
    let bytes = encode(&DynamicImage::ImageRgba16(image), ImageFormat::Png);
    let loaded = load_picture_from_bytes(&bytes).unwrap();
    assert_size(&loaded, 5, 5);
    assert_eq!(pixel(&loaded.picture, 0, 2), [255, 255, 255]);
    assert_eq!(pixel(&loaded.picture, 3, 2), [255, 0, 0]);
}

#[test]
fn gif_loads_its_first_frame() {
    let red = RgbaImage::from_pixel(12, 8, Rgba([255, 0, 0, 255]));
    let mut first = red.clone();
    first.put_pixel(0, 0, Rgba([0, 0, 0, 0])); // a transparent corner
    let green = RgbaImage::from_pixel(12, 8, Rgba([0, 255, 0, 255]));
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        encoder
            .encode_frames([Frame::new(first), Frame::new(green)])
            .unwrap();
    }
    let loaded = load_via_file("animation.gif", &bytes).unwrap();
    assert_size(&loaded, 12, 8);
    assert_eq!(pixel(&loaded.picture, 5, 5), [255, 0, 0]);
    assert_eq!(pixel(&loaded.picture, 0, 0), [255, 255, 255]);
}

#[test]
fn bmp_loads_exactly() {
    let image = pattern(19, 7);
    let bytes = encode(&image.clone().into(), ImageFormat::Bmp);
    let loaded = load_via_file("pattern.bmp", &bytes).unwrap();
    assert_size(&loaded, 19, 7);
    assert_eq!(loaded.picture.to_rgb8(), image.into_raw());
}

#[test]
fn lossless_webp_loads_exactly() {
    let image = pattern(21, 13);
    let mut bytes = Vec::new();
    WebPEncoder::new_lossless(&mut bytes)
        .encode(image.as_raw(), 21, 13, image::ExtendedColorType::Rgb8)
        .unwrap();
    let loaded = load_via_file("pattern.webp", &bytes).unwrap();
    assert_size(&loaded, 21, 13);
    assert_eq!(loaded.picture.to_rgb8(), image.into_raw());
}

#[test]
fn jpeg_loads_close_to_the_original() {
    let image = RgbImage::from_pixel(32, 24, Rgb([200, 60, 30]));
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 95)
        .encode_image(&image)
        .unwrap();
    let loaded = load_via_file("flat.jpg", &bytes).unwrap();
    assert_size(&loaded, 32, 24);
    assert!(close(pixel(&loaded.picture, 10, 10), [200, 60, 30], 6));
}

#[test]
fn format_comes_from_contents_not_the_file_name() {
    let bytes = encode(&pattern(8, 8).into(), ImageFormat::Png);
    let loaded = load_via_file("actually_a_png.jpg", &bytes).unwrap();
    assert_size(&loaded, 8, 8);
}

// ---------------------------------------------------------------- JPEGs cut short

/// A 64×48 baseline JPEG of noise-like pixels (many bytes to cut).
fn baseline_jpeg() -> Vec<u8> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(&noise(64, 48))
        .unwrap();
    bytes
}

/// The progressive JPEG of `tests/golden/make_progressive_jpeg.py`: 64×48, ten scans, red rising
/// to the right, green rising downwards, blue 128.
fn progressive_jpeg() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/progressive.jpg"))
        .unwrap()
}

/// `bytes` must be refused as cut short (the decoder alone would fill the rest with grey).
fn assert_cut_short(bytes: &[u8], what: &str) {
    match load_picture_from_bytes(bytes) {
        Err(LoadError::CutShort) => {}
        Err(other) => panic!("{what}: {other:?}"),
        Ok(loaded) => panic!(
            "{what}: loaded as {}×{} pictures",
            loaded.picture.width, loaded.picture.height
        ),
    }
}

#[test]
fn jpegs_cut_short_are_refused_not_filled_with_grey() {
    for (name, file) in [
        ("baseline", baseline_jpeg()),
        ("progressive", progressive_jpeg()),
    ] {
        assert_size(&load_picture_from_bytes(&file).unwrap(), 64, 48);
        for percent in [10, 50, 90, 99] {
            let len = file.len() * percent / 100;
            assert_cut_short(&file[..len], &format!("{name} cut at {percent} %"));
        }
        // Everything but the end-of-image marker.
        assert_cut_short(&file[..file.len() - 2], &format!("{name} without FF D9"));
        // No prefix at all loads.
        for len in 0..file.len() {
            assert!(
                load_picture_from_bytes(&file[..len]).is_err(),
                "{name} cut to {len} of {} bytes loaded",
                file.len()
            );
        }
    }
    let file = baseline_jpeg();
    let error = load_via_file("half.jpg", &file[..file.len() / 2]).unwrap_err();
    assert!(matches!(error, LoadError::CutShort), "{error:?}");
    assert_sentences(&error);
    assert!(error.sentence(Lang::En).contains("cut short"));
}

#[test]
fn the_complete_progressive_jpeg_shows_its_last_rows() {
    let loaded = load_picture_from_bytes(&progressive_jpeg()).unwrap();
    // The bottom corners: green is full there; grey fill would give (128, 128, 128).
    assert!(close(pixel(&loaded.picture, 0, 47), [0, 255, 128], 24));
    assert!(close(pixel(&loaded.picture, 63, 47), [255, 255, 128], 24));
    assert!(close(pixel(&loaded.picture, 63, 0), [255, 0, 128], 24));
}

#[test]
fn a_thumbnails_end_marker_does_not_end_the_photo() {
    // An EXIF block holding a complete 8×8 thumbnail (with its own FF D9), then the photo.
    let mut thumbnail = Vec::new();
    JpegEncoder::new_with_quality(&mut thumbnail, 80)
        .encode_image(&pattern(8, 8))
        .unwrap();
    let photo = baseline_jpeg();
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&thumbnail);
    let mut file = photo[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    file.extend_from_slice(&payload);
    file.extend_from_slice(&photo[2..]);

    assert_size(&load_picture_from_bytes(&file).unwrap(), 64, 48);
    assert_cut_short(
        &file[..file.len() * 9 / 10],
        "photo with a thumbnail, cut at 90 %",
    );
}

#[test]
fn data_after_the_end_marker_is_allowed() {
    // A second picture appended (as multi-picture files do), then padding.
    let mut file = baseline_jpeg();
    file.extend_from_slice(&progressive_jpeg());
    file.extend_from_slice(&[0; 100]);
    assert_size(&load_picture_from_bytes(&file).unwrap(), 64, 48);
}

// ---------------------------------------------------------------- EXIF orientation

/// A 48×32 JPEG, blue, with a 16×16 red square in the stored top-left corner.
fn marked_jpeg() -> Vec<u8> {
    let image = RgbImage::from_fn(48, 32, |x, y| {
        if x < 16 && y < 16 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 95)
        .encode_image(&image)
        .unwrap();
    bytes
}

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

#[test]
fn jpeg_without_exif_keeps_its_orientation() {
    let loaded = load_picture_from_bytes(&marked_jpeg()).unwrap();
    assert_size(&loaded, 48, 32);
    assert!(close(pixel(&loaded.picture, 4, 4), RED, 40));
    assert!(close(pixel(&loaded.picture, 43, 4), BLUE, 40));
}

#[test]
fn exif_orientation_6_rotates_90_degrees_clockwise() {
    let bytes = with_exif_orientation(&marked_jpeg(), 6);
    let loaded = load_via_file("rotated.jpg", &bytes).unwrap();
    // Width and height swap.
    assert_size(&loaded, 32, 48);
    assert_eq!((loaded.original_width, loaded.original_height), (32, 48));
    // Turning clockwise moves the top-left corner to the top-right.
    assert!(close(pixel(&loaded.picture, 27, 4), RED, 40));
    assert!(close(pixel(&loaded.picture, 4, 4), BLUE, 40));
    assert!(close(pixel(&loaded.picture, 27, 43), BLUE, 40));
}

#[test]
fn exif_orientation_3_rotates_180_degrees() {
    let bytes = with_exif_orientation(&marked_jpeg(), 3);
    let loaded = load_picture_from_bytes(&bytes).unwrap();
    assert_size(&loaded, 48, 32);
    assert!(close(pixel(&loaded.picture, 43, 27), RED, 40));
    assert!(close(pixel(&loaded.picture, 4, 4), BLUE, 40));
}

#[test]
fn invalid_exif_orientation_is_ignored() {
    let bytes = with_exif_orientation(&marked_jpeg(), 99);
    let loaded = load_picture_from_bytes(&bytes).unwrap();
    assert_size(&loaded, 48, 32);
    assert!(close(pixel(&loaded.picture, 4, 4), RED, 40));
}

// ---------------------------------------------------------------- bad input

#[test]
fn missing_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let error = load_picture_from_path(&dir.path().join("no_such_photo.png")).unwrap_err();
    assert!(
        matches!(&error, LoadError::Unreadable { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{error:?}"
    );
    assert!(error.sentence(Lang::En).contains("no_such_photo.png"));
    assert!(error.sentence(Lang::Zh).contains("no_such_photo.png"));
    assert!(error.details().is_some());
    assert!(std::error::Error::source(&error).is_some());
    assert_sentences(&error);
}

#[test]
fn a_folder_is_not_a_picture_file() {
    let dir = tempfile::tempdir().unwrap();
    let error = load_picture_from_path(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::Refused {
                refusal: FileRefusal::NotAFile {
                    kind: FileKind::Folder
                },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.sentence(Lang::En).contains("is a folder"));
    assert_sentences(&error);
}

#[test]
fn empty_file_and_empty_bytes() {
    let error = load_via_file("empty.png", &[]).unwrap_err();
    assert!(matches!(error, LoadError::Empty), "{error:?}");
    assert_sentences(&error);
    let error = load_picture_from_bytes(&[]).unwrap_err();
    assert!(matches!(error, LoadError::Empty), "{error:?}");
}

#[test]
fn text_file_is_not_an_image() {
    let error = load_via_file(
        "notes.png",
        b"These are a teacher's notes, not a picture.\n",
    )
    .unwrap_err();
    assert!(matches!(error, LoadError::NotAnImage), "{error:?}");
    assert_sentences(&error);
    assert!(error.details().is_none());
}

#[test]
fn random_bytes_are_not_an_image() {
    let bytes: Vec<u8> = noise(10, 10).into_raw();
    let error = load_picture_from_bytes(&bytes).unwrap_err();
    assert!(matches!(error, LoadError::NotAnImage), "{error:?}");
}

#[test]
fn recognised_but_unsupported_format_is_named() {
    // The start of a little-endian TIFF; this program is not built with TIFF support.
    let mut tiff = b"II\x2A\x00\x08\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&[0; 32]);
    let error = load_picture_from_bytes(&tiff).unwrap_err();
    assert!(
        matches!(&error, LoadError::UnsupportedFormat { format } if format == "TIFF"),
        "{error:?}"
    );
    assert!(error.sentence(Lang::En).contains("TIFF"));
    assert_sentences(&error);
}

#[test]
fn unsupported_formats_are_named_as_people_know_them() {
    let exr: &[u8] = &[0x76, 0x2f, 0x31, 0x01];
    let cases: [(&[u8], &str); 14] = [
        (b"P6\n4 4\n255\n", "PPM"),
        (b"P3\n4 4\n255\n", "PPM"),
        (b"P5\n4 4\n255\n", "PGM"),
        (b"P2\n4 4\n255\n", "PGM"),
        (b"P4\n4 4\n", "PBM"),
        (b"P7\nWIDTH 4\n", "PAM"),
        (b"\0\0\0\x1cftypavif", "AVIF"),
        (&[0, 0, 1, 0, 1, 0, 16, 16], "ICO"),
        (b"qoif", "QOI"),
        (b"#?RADIANCE\n", "Radiance HDR"),
        (exr, "OpenEXR"),
        (b"farbfeld", "farbfeld"),
        (b"DDS ", "DDS"),
        (b"MM\x00*", "TIFF"),
    ];
    for (magic, name) in cases {
        let mut bytes = magic.to_vec();
        bytes.resize(64, 0);
        let error = load_picture_from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(&error, LoadError::UnsupportedFormat { format } if format == name),
            "{name}: {error:?}"
        );
        let en = error.sentence(Lang::En);
        assert!(en.contains(&format!("in the {name} format")), "{en}");
        assert!(!en.contains(&format!("a {name}")), "{en}");
        assert!(error.sentence(Lang::Zh).contains(name));
        assert_sentences(&error);
    }
}

#[test]
fn corrupt_png_is_reported_as_damaged() {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&noise(8, 8).into_raw());
    let error = load_via_file("corrupt.png", &bytes).unwrap_err();
    assert!(matches!(error, LoadError::Corrupt { .. }), "{error:?}");
    assert!(error.details().is_some());
    assert_sentences(&error);
}

#[test]
fn png_with_damaged_pixel_data_is_corrupt() {
    let mut bytes = encode(&noise(32, 32).into(), ImageFormat::Png);
    // Flip bytes in the middle of the IDAT data (the CRC no longer matches).
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xA5;
    }
    let error = load_picture_from_bytes(&bytes).unwrap_err();
    assert!(matches!(error, LoadError::Corrupt { .. }), "{error:?}");
}

#[test]
fn truncated_png_is_corrupt() {
    let bytes = encode(&noise(64, 64).into(), ImageFormat::Png);
    let half = &bytes[..bytes.len() / 2];
    let error = load_via_file("half.png", half).unwrap_err();
    assert!(matches!(error, LoadError::Corrupt { .. }), "{error:?}");
    assert_sentences(&error);
    let error = load_picture_from_bytes(half).unwrap_err();
    assert!(matches!(error, LoadError::Corrupt { .. }), "{error:?}");
}

/// A damaged or cut file is a picture or a decoding error with both sentences, never a panic
/// and never an error about the file system (the bytes were read fine).
fn check_damaged(bytes: &[u8], kinds: &mut std::collections::BTreeSet<&'static str>) {
    let Err(error) = load_picture_from_bytes(bytes) else {
        // Some decoders accept truncated or altered data.
        return;
    };
    let kind = match &error {
        LoadError::Empty => "empty",
        LoadError::NotAnImage => "not an image",
        LoadError::UnsupportedFormat { .. } => "unsupported format",
        LoadError::UnsupportedFeature { .. } => "unsupported feature",
        LoadError::CutShort => "cut short",
        LoadError::Corrupt { .. } => "corrupt",
        LoadError::TooLarge { .. } => "too large",
        LoadError::Unreadable { .. } | LoadError::Refused { .. } => {
            panic!("bytes in memory gave a file-system error: {error:?}")
        }
    };
    kinds.insert(kind);
    assert_sentences(&error);
}

#[test]
fn no_prefix_or_damage_of_any_format_panics() {
    let image: DynamicImage = noise(20, 12).into();
    let mut files = vec![
        encode(&image, ImageFormat::Png),
        encode(&image, ImageFormat::Bmp),
        encode(&image, ImageFormat::Gif),
        encode(&image, ImageFormat::Jpeg),
        with_exif_orientation(&marked_jpeg(), 6),
    ];
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .encode(image.as_bytes(), 20, 12, image::ExtendedColorType::Rgb8)
        .unwrap();
    files.push(webp);
    let mut kinds = std::collections::BTreeSet::new();
    for file in &files {
        assert!(load_picture_from_bytes(file).is_ok());
        let step = (file.len() / 97).max(1);
        for len in (0..file.len()).step_by(step) {
            check_damaged(&file[..len], &mut kinds);
        }
        for position in (0..file.len()).step_by(step) {
            let mut damaged = file.clone();
            damaged[position] ^= 0xFF;
            check_damaged(&damaged, &mut kinds);
        }
    }
    // The sweep reaches the decoders' errors, not only the empty file.
    for kind in ["empty", "cut short", "corrupt"] {
        assert!(kinds.contains(kind), "no “{kind}” among {kinds:?}");
    }
}

// ---------------------------------------------------------------- limits

#[test]
fn png_claiming_100000_squared_pixels_is_refused_before_decoding() {
    let bytes = png_claiming(100_000, 100_000);
    let start = Instant::now();
    let error = load_via_file("bomb.png", &bytes).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        matches!(
            error,
            LoadError::TooLarge {
                dimensions: Some((100_000, 100_000))
            }
        ),
        "{error:?}"
    );
    assert!(error.sentence(Lang::En).contains("100000 × 100000"));
    assert_sentences(&error);
}

#[test]
fn header_limits_on_pixels_and_on_sides() {
    // Under the pixel budget but one side too long.
    let error = load_picture_from_bytes(&png_claiming(MAX_HEADER_SIDE + 1, 1)).unwrap_err();
    assert!(matches!(error, LoadError::TooLarge { .. }), "{error:?}");
    // Sides allowed, product over the pixel budget.
    let side = MAX_HEADER_SIDE;
    assert!(u64::from(side) * u64::from(side) > MAX_HEADER_PIXELS);
    let error = load_picture_from_bytes(&png_claiming(side, side)).unwrap_err();
    assert!(matches!(error, LoadError::TooLarge { .. }), "{error:?}");
    // Within both limits the header is accepted, and the (fake) pixel data is then found wanting.
    let error = load_picture_from_bytes(&png_claiming(4000, 3000)).unwrap_err();
    assert!(matches!(error, LoadError::Corrupt { .. }), "{error:?}");
}

#[test]
fn gif_and_bmp_bombs_are_refused() {
    // GIF logical screen of 65535 × 65535 and nothing else.
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&65535_u16.to_le_bytes());
    gif.extend_from_slice(&65535_u16.to_le_bytes());
    gif.extend_from_slice(&[0, 0, 0]);
    // One image descriptor covering the whole screen, then the trailer.
    gif.push(0x2C);
    gif.extend_from_slice(&[0, 0, 0, 0]);
    gif.extend_from_slice(&65535_u16.to_le_bytes());
    gif.extend_from_slice(&65535_u16.to_le_bytes());
    gif.push(0);
    gif.extend_from_slice(&[2, 0, 0x3B]);
    let error = load_picture_from_bytes(&gif).unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::TooLarge {
                dimensions: Some((65_535, 65_535))
            }
        ),
        "{error:?}"
    );

    // BMP headers claiming huge 24-bit pictures, over our limits and over the decoder's own.
    for side in [40_000, 100_000] {
        let start = Instant::now();
        let error = load_picture_from_bytes(&bmp_claiming(side, side)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(matches!(error, LoadError::TooLarge { .. }), "{error:?}");
    }
    let error = load_picture_from_bytes(&bmp_claiming(40_000, 40_000)).unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::TooLarge {
                dimensions: Some((40_000, 40_000))
            }
        ),
        "{error:?}"
    );
}

/// A BMP file header and `BITMAPINFOHEADER` claiming `width × height` 24-bit pixels, with no pixels.
fn bmp_claiming(width: i32, height: i32) -> Vec<u8> {
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&70_u32.to_le_bytes()); // file size (a lie)
    bmp.extend_from_slice(&[0, 0, 0, 0]);
    bmp.extend_from_slice(&54_u32.to_le_bytes()); // pixel data offset
    bmp.extend_from_slice(&40_u32.to_le_bytes()); // BITMAPINFOHEADER
    bmp.extend_from_slice(&width.to_le_bytes());
    bmp.extend_from_slice(&height.to_le_bytes());
    bmp.extend_from_slice(&1_u16.to_le_bytes()); // planes
    bmp.extend_from_slice(&24_u16.to_le_bytes()); // bits per pixel
    bmp.extend_from_slice(&[0; 24]); // no compression, sizes and palette counts zero
    bmp.extend_from_slice(&[0; 16]);
    bmp
}

#[test]
fn large_photo_is_scaled_down_keeping_its_aspect() {
    let image = pattern(2000, 1500);
    let bytes = encode(&image.into(), ImageFormat::Png);
    let loaded = load_via_file("large.png", &bytes).unwrap();
    assert!(loaded.scaled_down);
    assert_eq!(
        (loaded.original_width, loaded.original_height),
        (2000, 1500)
    );
    let (w, h) = (loaded.picture.width, loaded.picture.height);
    assert!((w * h) as u64 <= MAX_COMPUTE_PIXELS, "{w}×{h}");
    assert!(
        (w * h) as u64 > MAX_COMPUTE_PIXELS * 99 / 100,
        "{w}×{h} wastes the budget"
    );
    assert!((w as f64 / h as f64 - 4.0 / 3.0).abs() < 0.01, "{w}×{h}");
    assert_size(&loaded, w, h);
    // The gradient survives the resize: dark red on the left, bright red on the right.
    assert!(pixel(&loaded.picture, 0, h / 2)[0] < 10);
    assert!(pixel(&loaded.picture, w - 1, h / 2)[0] > 245);
    let note = loaded.note(Lang::En).unwrap();
    assert!(note.contains("2000 × 1500"), "{note}");
    assert!(has_chinese(&loaded.note(Lang::Zh).unwrap()));
}

#[test]
fn exactly_the_compute_budget_is_not_scaled() {
    let loaded =
        load_picture_from_bytes(&encode(&pattern(1024, 1024).into(), ImageFormat::Png)).unwrap();
    assert!(!loaded.scaled_down);
    assert_size(&loaded, 1024, 1024);
}

#[test]
fn fitted_size_keeps_aspect_and_budget() {
    assert_eq!(fitted_size(1, 1), (1, 1));
    assert_eq!(fitted_size(1024, 1024), (1024, 1024));
    for (w, h) in [
        (1025, 1024),
        (2000, 1500),
        (4000, 3000),
        (30_000, 4000),
        (30_000, 35),
        (30_000, 1),
        (1, 30_000),
        (10_954, 10_954),
    ] {
        let (fw, fh) = fitted_size(w, h);
        assert!(
            u64::from(fw) * u64::from(fh) <= MAX_COMPUTE_PIXELS,
            "{w}×{h} → {fw}×{fh}"
        );
        assert!(fw >= 1 && fh >= 1 && fw <= w && fh <= h);
        let aspect = f64::from(w) / f64::from(h);
        let fitted = f64::from(fw) / f64::from(fh);
        assert!(
            (fitted / aspect - 1.0).abs() < 0.05 || fw.min(fh) < 30,
            "{w}×{h} → {fw}×{fh}"
        );
    }
}

#[test]
fn tiny_and_thin_pictures_load() {
    for (w, h) in [(1, 1), (1, 3000), (3000, 1)] {
        let image = pattern(w, h);
        let bytes = encode(&image.clone().into(), ImageFormat::Png);
        let loaded = load_picture_from_bytes(&bytes).unwrap();
        assert_size(&loaded, w as usize, h as usize);
        assert!(!loaded.scaled_down);
        assert_eq!(loaded.picture.to_rgb8(), image.into_raw());
    }
    let one = load_via_file("one.bmp", &encode(&pattern(1, 1).into(), ImageFormat::Bmp)).unwrap();
    assert_size(&one, 1, 1);
}

#[test]
fn every_error_variant_has_sentences() {
    let errors = [
        LoadError::Unreadable {
            file: "cat.png".to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        },
        LoadError::Unreadable {
            file: "cat.png".to_owned(),
            source: std::io::Error::other("disk on fire"),
        },
        LoadError::Empty,
        LoadError::NotAnImage,
        LoadError::UnsupportedFormat {
            format: "TIFF".to_owned(),
        },
        LoadError::TooLarge { dimensions: None },
        LoadError::TooLarge {
            dimensions: Some((50_000, 2)),
        },
        LoadError::CutShort,
        LoadError::Refused {
            file: "cat.png".to_owned(),
            refusal: FileRefusal::TooLarge { limit: 1 << 20 },
        },
        load_picture_from_bytes(b"\x89PNG\r\n\x1a\nrubbish").unwrap_err(),
    ];
    for error in &errors {
        assert_sentences(error);
    }
}

#[test]
fn loading_a_path_reports_the_path_it_was_given() {
    // A path with non-ASCII characters works, and the name appears in errors.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("照片.png");
    std::fs::write(&path, encode(&pattern(3, 3).into(), ImageFormat::Png)).unwrap();
    assert_size(&load_picture_from_path(&path).unwrap(), 3, 3);
    let error = load_picture_from_path(Path::new(&dir.path().join("缺失.png"))).unwrap_err();
    assert!(error.sentence(Lang::Zh).contains("缺失.png"));
}

// ---------------------------------------------------------------- paths that are not ordinary files

/// Nodes are made only inside temporary folders; `/dev`'s own are only looked at, never read.
#[cfg(unix)]
mod not_ordinary_files {
    use super::*;

    /// Runs `load` on a thread of its own and fails if it has not returned within 20 s (reading a
    /// pipe nobody writes to would wait forever).
    fn returns_promptly<T: Send + 'static>(load: impl FnOnce() -> T + Send + 'static) -> T {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name("load-under-test".to_owned())
            .spawn(move || sender.send(load()))
            .unwrap();
        receiver
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("loading did not return within 20 s: it hangs"))
    }

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "mkfifo failed");
    }

    fn assert_not_a_file(error: &LoadError, expected: FileKind, name: &str) {
        assert!(
            matches!(
                error,
                LoadError::Refused {
                    refusal: FileRefusal::NotAFile { kind },
                    ..
                } if *kind == expected
            ),
            "{error:?}"
        );
        assert!(error.sentence(Lang::En).contains(name), "{error}");
        assert!(error.sentence(Lang::Zh).contains(name));
        assert!(
            error
                .sentence(Lang::En)
                .contains(expected.described(Lang::En))
        );
        assert_sentences(error);
    }

    #[test]
    fn a_named_pipe_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("photo.png");
        mkfifo(&fifo);
        let link = dir.path().join("link-to-pipe.png");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        for (path, name) in [(fifo, "photo.png"), (link, "link-to-pipe.png")] {
            let error = returns_promptly(move || load_picture_from_path(&path)).unwrap_err();
            assert_not_a_file(&error, FileKind::NamedPipe, name);
            assert!(error.sentence(Lang::En).contains("named pipe"));
        }
    }

    #[test]
    fn a_socket_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket.png");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let error = returns_promptly(move || load_picture_from_path(&path)).unwrap_err();
        assert_not_a_file(&error, FileKind::Socket, "socket.png");
    }

    #[test]
    fn devices_are_refused_without_being_read() {
        for device in ["/dev/zero", "/dev/urandom"] {
            if !Path::new(device).exists() {
                continue;
            }
            let error =
                returns_promptly(move || load_picture_from_path(Path::new(device))).unwrap_err();
            let name = device.trim_start_matches("/dev/");
            assert_not_a_file(&error, FileKind::CharacterDevice, name);
        }
    }

    #[test]
    fn a_proc_file_is_read_for_what_it_holds() {
        // Files under /proc say they are empty but are not: this one holds text.
        let path = Path::new("/proc/self/status");
        if !path.exists() {
            return;
        }
        let error = load_picture_from_path(path).unwrap_err();
        assert!(matches!(error, LoadError::NotAnImage), "{error:?}");
    }

    #[test]
    fn a_link_to_a_picture_loads() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("cat.png");
        std::fs::write(&target, encode(&pattern(5, 4).into(), ImageFormat::Png)).unwrap();
        let link = dir.path().join("link.png");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_size(&load_picture_from_path(&link).unwrap(), 5, 4);
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_unread() {
        // A sparse file: no disk space, but the system reports its full length.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.png");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        let start = Instant::now();
        let error = load_picture_from_path(&path).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(
            matches!(
                error,
                LoadError::Refused {
                    refusal: FileRefusal::TooLarge {
                        limit: MAX_FILE_BYTES
                    },
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.sentence(Lang::En).contains("256 MB"), "{error}");
        assert_sentences(&error);
    }
}
