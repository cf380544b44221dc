//! Loading a photo from a file or from bytes, with limits: read only ordinary files of bounded
//! size, refuse decompression bombs before decoding, bound what a decoder may hold besides the
//! pixels, refuse JPEGs cut short, respect EXIF orientation, flatten transparency onto white, and
//! scale big photos down.
//!
//! Every failure a user can cause becomes a [`LoadError`] with one clear sentence in either language.

use std::io::{self, Cursor};
use std::path::Path;

use image::error::{DecodingError, ImageFormatHint, UnsupportedErrorKind};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

use crate::data::Picture;
use crate::data::file::{FileRefusal, ReadError, read_regular_file};
use crate::data::jpeg_end::reaches_end_marker;
use crate::i18n::Lang;

/// Largest number of pixels the program computes on; bigger photos are scaled down (aspect kept) with a note.
pub const MAX_COMPUTE_PIXELS: u64 = 1 << 20;

/// Pictures whose header claims more than this many pixels are refused before decoding
/// (decompression bombs).
pub const MAX_HEADER_PIXELS: u64 = 120_000_000;

/// Pictures whose header claims a side longer than this (in pixels) are refused before decoding.
pub const MAX_HEADER_SIDE: u32 = 30_000;

/// The most memory (in bytes) a decoder may allocate for one picture.
pub const MAX_DECODE_BYTES: u64 = 1 << 30;

/// The largest picture file read (bytes); a 120-million-pixel PNG fits.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// The most memory (in bytes) a PNG decoder may spend besides the pixels: colour profile, text
/// and EXIF chunks (each decompressed) and its working rows. A compressed colour profile that
/// would grow beyond it is dropped (the program does not use colour profiles).
pub const MAX_SIDE_DATA_BYTES: u64 = 64 << 20;

/// A decoded photo, ready to compute on.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedPicture {
    /// The photo in the model's value range, at most [`MAX_COMPUTE_PIXELS`] pixels.
    pub picture: Picture,
    /// Width of the photo as the file shows it (after EXIF orientation), before any scaling.
    pub original_width: u32,
    /// Height of the photo as the file shows it (after EXIF orientation), before any scaling.
    pub original_height: u32,
    /// Whether the photo was scaled down to fit [`MAX_COMPUTE_PIXELS`].
    pub scaled_down: bool,
}

impl LoadedPicture {
    /// A sentence telling the user the photo was scaled down, or `None` when it was not.
    pub fn note(&self, lang: Lang) -> Option<String> {
        if !self.scaled_down {
            return None;
        }
        let (ow, oh) = (self.original_width, self.original_height);
        let (w, h) = (self.picture.width, self.picture.height);
        Some(match lang {
            Lang::En => format!(
                "The photo ({ow} × {oh} pixels) was scaled down to {w} × {h} so that it computes quickly."
            ),
            Lang::Zh => format!("这张照片（{ow} × {oh} 像素）已缩小到 {w} × {h}，以便快速计算。"),
        })
    }
}

/// Why a photo could not be loaded. `Display` gives the English sentence; see [`LoadError::sentence`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened or read (missing, no permission, …).
    #[error("{}", self.sentence(Lang::En))]
    Unreadable {
        /// The file's name, as shown to the user.
        file: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The path names something that is not an ordinary file (a folder, a pipe, a device), or a
    /// file larger than [`MAX_FILE_BYTES`]; nothing was read from it.
    #[error("{}", self.sentence(Lang::En))]
    Refused {
        /// The file's name, as shown to the user.
        file: String,
        /// What is wrong with it.
        #[source]
        refusal: FileRefusal,
    },
    /// The file (or the bytes) hold nothing at all.
    #[error("{}", self.sentence(Lang::En))]
    Empty,
    /// The contents are not a picture in any format we recognise.
    #[error("{}", self.sentence(Lang::En))]
    NotAnImage,
    /// The contents are a picture in a format this program does not open (TIFF, AVIF, …).
    #[error("{}", self.sentence(Lang::En))]
    UnsupportedFormat {
        /// The format's usual name, such as `TIFF`.
        format: String,
    },
    /// The picture uses a feature of its format the decoder cannot handle.
    #[error("{}", self.sentence(Lang::En))]
    UnsupportedFeature {
        /// The decoder's own explanation.
        #[source]
        source: ImageError,
    },
    /// The JPEG file ends before its end-of-image marker: it was cut short (an unfinished download
    /// or copy). Its decoder would fill the missing part with grey, so it is refused instead.
    #[error("{}", self.sentence(Lang::En))]
    CutShort,
    /// The picture is damaged or cut short.
    #[error("{}", self.sentence(Lang::En))]
    Corrupt {
        /// The decoder's own explanation.
        #[source]
        source: ImageError,
    },
    /// The picture is larger than the program accepts (refused before decoding when the header says so).
    #[error("{}", self.sentence(Lang::En))]
    TooLarge {
        /// Width and height claimed by the file, when known.
        dimensions: Option<(u32, u32)>,
    },
}

impl LoadError {
    /// One clear sentence a teacher understands, in English or Simplified Chinese.
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Unreadable { file, source }, Lang::En) => match source.kind() {
                io::ErrorKind::NotFound => format!("The file “{file}” does not exist."),
                io::ErrorKind::PermissionDenied => {
                    format!("Diffuscope is not allowed to read the file “{file}”.")
                }
                _ => format!("The file “{file}” could not be read ({source})."),
            },
            (Self::Unreadable { file, source }, Lang::Zh) => match source.kind() {
                io::ErrorKind::NotFound => format!("文件“{file}”不存在。"),
                io::ErrorKind::PermissionDenied => format!("没有读取文件“{file}”的权限。"),
                _ => format!("无法读取文件“{file}”。"),
            },
            (Self::Refused { file, refusal }, lang) => refusal.sentence(file, lang),
            (Self::Empty, Lang::En) => "The file is empty: it holds no picture.".to_owned(),
            (Self::Empty, Lang::Zh) => "这个文件是空的，里面没有图片。".to_owned(),
            (Self::NotAnImage, Lang::En) => "This file is not a picture Diffuscope can open; \
                 choose a PNG, JPEG, WebP, GIF or BMP file."
                .to_owned(),
            (Self::NotAnImage, Lang::Zh) => {
                "这个文件不是 Diffuscope 能打开的图片；请选择 PNG、JPEG、WebP、GIF 或 BMP 文件。"
                    .to_owned()
            }
            (Self::UnsupportedFormat { format }, Lang::En) => format!(
                "This picture is in the {format} format, which Diffuscope cannot open; \
                 convert it to PNG or JPEG first."
            ),
            (Self::UnsupportedFormat { format }, Lang::Zh) => {
                format!(
                    "这张图片是 {format} 格式，Diffuscope 无法打开；请先把它转换成 PNG 或 JPEG。"
                )
            }
            (Self::UnsupportedFeature { .. }, Lang::En) => {
                "This picture uses a feature of its format that Diffuscope cannot read; \
                 save it again as an ordinary PNG or JPEG."
                    .to_owned()
            }
            (Self::UnsupportedFeature { .. }, Lang::Zh) => {
                "这张图片用到了 Diffuscope 无法读取的格式特性；请把它重新保存为普通的 PNG 或 JPEG。"
                    .to_owned()
            }
            (Self::CutShort, Lang::En) => "The JPEG picture is cut short: its end is missing \
                 (perhaps an unfinished download or copy), so Diffuscope does not open it."
                .to_owned(),
            (Self::CutShort, Lang::Zh) => {
                "这张 JPEG 图片不完整：缺少结尾部分（可能没有下载或复制完），因此 Diffuscope 不打开它。"
                    .to_owned()
            }
            (Self::Corrupt { .. }, Lang::En) => {
                "The picture is damaged or incomplete and cannot be opened.".to_owned()
            }
            (Self::Corrupt { .. }, Lang::Zh) => "这张图片已损坏或不完整，无法打开。".to_owned(),
            (Self::TooLarge { dimensions }, Lang::En) => {
                let size =
                    dimensions.map_or_else(String::new, |(w, h)| format!(" ({w} × {h} pixels)"));
                format!(
                    "The picture is too large to open{size}; the limit is {} million pixels \
                     and {MAX_HEADER_SIDE} pixels per side.",
                    MAX_HEADER_PIXELS / 1_000_000
                )
            }
            (Self::TooLarge { dimensions }, Lang::Zh) => {
                let size =
                    dimensions.map_or_else(String::new, |(w, h)| format!("（{w} × {h} 像素）"));
                format!(
                    "图片太大{size}，无法打开；上限是 {} 万像素、每边 {MAX_HEADER_SIDE} 像素。",
                    MAX_HEADER_PIXELS / 10_000
                )
            }
        }
    }

    /// The technical detail behind the sentence (the decoder's or the system's message), if any.
    pub fn details(&self) -> Option<String> {
        match self {
            Self::Unreadable { source, .. } => Some(source.to_string()),
            Self::UnsupportedFeature { source } | Self::Corrupt { source } => {
                Some(source.to_string())
            }
            Self::Refused { .. }
            | Self::CutShort
            | Self::Empty
            | Self::NotAnImage
            | Self::UnsupportedFormat { .. }
            | Self::TooLarge { .. } => None,
        }
    }
}

/// Loads a photo from a file (PNG, JPEG, WebP, GIF's first frame or BMP).
///
/// The format is recognised from the contents, not the file name. Only ordinary files of at most
/// [`MAX_FILE_BYTES`] are read (a pipe or a device is refused before reading).
pub fn load_picture_from_path(path: &Path) -> Result<LoadedPicture, LoadError> {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let bytes = read_regular_file(path, MAX_FILE_BYTES).map_err(|error| match error {
        ReadError::Io(source) => LoadError::Unreadable { file, source },
        ReadError::Refused(refusal) => LoadError::Refused { file, refusal },
    })?;
    load_picture_from_bytes(&bytes)
}

/// Loads a photo from the bytes of an image file (PNG, JPEG, WebP, GIF's first frame or BMP).
pub fn load_picture_from_bytes(bytes: &[u8]) -> Result<LoadedPicture, LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    decode(bytes)
}

/// The name a user knows a format by (`PPM`, not the `PBM` that heads the extensions of the
/// whole Netpbm family).
fn format_name(format: ImageFormat, bytes: &[u8]) -> String {
    let name = match format {
        ImageFormat::Pnm => match bytes.get(..2) {
            Some(b"P1" | b"P4") => "PBM",
            Some(b"P2" | b"P5") => "PGM",
            Some(b"P3" | b"P6") => "PPM",
            Some(b"P7") => "PAM",
            _ => "Netpbm",
        },
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Tga => "TGA",
        ImageFormat::Dds => "DDS",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Ico => "ICO",
        ImageFormat::Hdr => "Radiance HDR",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Farbfeld => "farbfeld",
        ImageFormat::Avif => "AVIF",
        ImageFormat::Qoi => "QOI",
        other => {
            return other
                .extensions_str()
                .first()
                .map_or_else(|| format!("{other:?}"), |ext| ext.to_uppercase());
        }
    };
    name.to_owned()
}

/// The size a `width × height` photo is computed at: unchanged when it has at most
/// [`MAX_COMPUTE_PIXELS`] pixels, otherwise scaled down with its aspect ratio kept (each side ≥ 1).
pub fn fitted_size(width: u32, height: u32) -> (u32, u32) {
    let pixels = u64::from(width) * u64::from(height);
    if pixels <= MAX_COMPUTE_PIXELS {
        return (width, height);
    }
    let scale = (MAX_COMPUTE_PIXELS as f64 / pixels as f64).sqrt();
    // Float-to-int casts saturate; the clamps keep each side in 1..=original.
    let mut w = ((f64::from(width) * scale).floor() as u32).clamp(1, width);
    let mut h = ((f64::from(height) * scale).floor() as u32).clamp(1, height);
    // Rounding can leave the product a hair above the limit; trim the longer side.
    while u64::from(w) * u64::from(h) > MAX_COMPUTE_PIXELS {
        if w >= h && w > 1 {
            w -= 1;
        } else if h > 1 {
            h -= 1;
        } else {
            break;
        }
    }
    (w, h)
}

/// Limits for reading the header: sizes are checked by us afterwards so that the refusal can name
/// them. The PNG decoder keeps this allocation budget for everything but the pixels (colour
/// profile, text, working rows), so it is [`MAX_SIDE_DATA_BYTES`].
fn header_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = None;
    limits.max_image_height = None;
    limits.max_alloc = Some(MAX_SIDE_DATA_BYTES);
    limits
}

/// Limits for decoding the pixels.
fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_HEADER_SIDE);
    limits.max_image_height = Some(MAX_HEADER_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

/// Whether a header's claimed size is over the limits.
fn too_large(width: u32, height: u32) -> bool {
    width > MAX_HEADER_SIDE
        || height > MAX_HEADER_SIDE
        || u64::from(width) * u64::from(height) > MAX_HEADER_PIXELS
}

/// Reads the header, refuses bombs, then decodes, orients, flattens and fits the photo.
fn decode(bytes: &[u8]) -> Result<LoadedPicture, LoadError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| classify(ImageError::IoError(e), bytes, None))?;
    let Some(format) = reader.format() else {
        return Err(LoadError::NotAnImage);
    };
    if format == ImageFormat::Jpeg && !reaches_end_marker(bytes) {
        return Err(LoadError::CutShort);
    }
    reader.limits(header_limits());
    // Constructing the decoder reads the header only, not the pixels.
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| classify(e, bytes, None))?;

    let (width, height) = decoder.dimensions();
    let dimensions = Some((width, height));
    if too_large(width, height) || decoder.total_bytes() > MAX_DECODE_BYTES {
        return Err(LoadError::TooLarge { dimensions });
    }
    if width == 0 || height == 0 {
        return Err(LoadError::Corrupt {
            source: ImageError::Decoding(DecodingError::new(
                ImageFormatHint::Unknown,
                "the picture has no pixels",
            )),
        });
    }
    decoder
        .set_limits(decode_limits())
        .map_err(|e| classify(e, bytes, dimensions))?;

    // A damaged EXIF block should not stop the photo from loading: show it as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| classify(e, bytes, dimensions))?;
    image.apply_orientation(orientation);

    let rgb = flatten_onto_white(image);
    let (original_width, original_height) = rgb.dimensions();
    let (w, h) = fitted_size(original_width, original_height);
    let scaled_down = (w, h) != (original_width, original_height);
    let rgb = if scaled_down {
        image::imageops::resize(&rgb, w, h, FilterType::Triangle)
    } else {
        rgb
    };
    let picture = Picture::from_rgb8(to_usize(w), to_usize(h), rgb.as_raw());
    Ok(LoadedPicture {
        picture,
        original_width,
        original_height,
        scaled_down,
    })
}

/// The picture as 8-bit RGB; transparent pixels are composited over white.
fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut rgb = RgbImage::new(w, h);
    for (out, pixel) in rgb.pixels_mut().zip(rgba.pixels()) {
        let alpha = u32::from(pixel[3]);
        for c in 0..3 {
            let blended = (u32::from(pixel[c]) * alpha + 255 * (255 - alpha) + 127) / 255;
            out[c] = u8::try_from(blended).unwrap_or(u8::MAX);
        }
    }
    rgb
}

fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Sorts an `image` error about the picture file `bytes` into the sentence the user sees. The
/// bytes are in memory, so an I/O error means the data ended early: the picture is damaged.
fn classify(error: ImageError, bytes: &[u8], dimensions: Option<(u32, u32)>) -> LoadError {
    match error {
        ImageError::Limits(_) => LoadError::TooLarge { dimensions },
        ImageError::IoError(error) => LoadError::Corrupt {
            source: ImageError::IoError(error),
        },
        ImageError::Unsupported(unsupported) => match unsupported.kind() {
            UnsupportedErrorKind::Format(ImageFormatHint::Exact(format)) => {
                LoadError::UnsupportedFormat {
                    format: format_name(format, bytes),
                }
            }
            UnsupportedErrorKind::Format(_) => LoadError::NotAnImage,
            _ => LoadError::UnsupportedFeature {
                source: ImageError::Unsupported(unsupported),
            },
        },
        // Some decoders refuse huge headers themselves (BMP over 65535 pixels a side) with a
        // decoding error; the user should still hear "too large", not "damaged".
        ImageError::Decoding(decoding)
            if decoding
                .to_string()
                .to_ascii_lowercase()
                .contains("too large") =>
        {
            LoadError::TooLarge { dimensions }
        }
        error @ (ImageError::Decoding(_) | ImageError::Encoding(_) | ImageError::Parameter(_)) => {
            LoadError::Corrupt { source: error }
        }
    }
}
