//! The MNIST digits in the IDX format: our own reader (gzip-compressed or plain), the 10,000 digits
//! bundled with the program, and helpers that turn one digit into model input in [-1, 1].
//!
//! IDX layout: an images file starts with the magic number 0x00000803, the count, 28 and 28 (all
//! big-endian `u32`), then count×784 bytes, row by row (0 = background, 255 = ink). A labels file
//! starts with 0x00000801 and the count, then one byte 0–9 per digit.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::data::file::{FileRefusal, ReadError, megabytes, read_regular_file};
use crate::i18n::Lang;

/// Width and height of a digit in pixels.
pub const SIDE: usize = 28;
/// Pixels in one digit (28 × 28).
pub const PIXELS: usize = SIDE * SIDE;
/// Number of digit classes (0–9).
pub const CLASSES: usize = 10;
/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// The most digits a file may announce: 300,000 (MNIST has 70,000), about 224 MB of pixels once
/// decompressed. A header announcing more is refused before anything is decompressed, so a small
/// gzip file cannot swell into gigabytes.
pub const MAX_DIGITS: u32 = 300_000;
/// The largest IDX file read from disk, compressed or not (bytes): the pixels of [`MAX_DIGITS`]
/// digits and a header.
pub const MAX_FILE_BYTES: u64 = MAX_DIGITS as u64 * PIXELS as u64 + 16;

/// Where the bundled digits come from, as named in error messages.
const BUNDLED_IMAGES_NAME: &str = "assets/data/mnist10k-images-idx3-ubyte.gz";
const BUNDLED_LABELS_NAME: &str = "assets/data/mnist10k-labels-idx1-ubyte.gz";
static BUNDLED_IMAGES: &[u8] = include_bytes!("../../assets/data/mnist10k-images-idx3-ubyte.gz");
static BUNDLED_LABELS: &[u8] = include_bytes!("../../assets/data/mnist10k-labels-idx1-ubyte.gz");

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A set of labelled 28×28 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digits {
    /// `count` × 784 bytes: digit `i` is `images[i*784 .. (i+1)*784]`, row by row, 0 = background.
    pub images: Vec<u8>,
    /// One label 0–9 per digit.
    pub labels: Vec<u8>,
    /// Number of digits.
    pub count: usize,
}

impl Digits {
    /// Whether there are no digits at all.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The 784 bytes of digit `index`, or `None` past the end.
    pub fn image(&self, index: usize) -> Option<&[u8]> {
        let start = index.checked_mul(PIXELS)?;
        self.images.get(start..start.checked_add(PIXELS)?)
    }

    /// The label (0–9) of digit `index`, or `None` past the end.
    pub fn label(&self, index: usize) -> Option<u8> {
        self.labels.get(index).copied()
    }

    /// Digit `index` as 784 values in [-1, 1] (background −1), the scaling the models are trained on.
    pub fn image_unit(&self, index: usize) -> Option<Vec<f32>> {
        self.image(index)
            .map(|bytes| bytes.iter().copied().map(byte_to_unit).collect())
    }

    /// Writes digit `index` into `out` (784 values in [-1, 1]); returns `false`, leaving `out`
    /// untouched, if `index` is past the end or `out` does not hold exactly 784 values.
    pub fn write_image_unit(&self, index: usize, out: &mut [f32]) -> bool {
        match self.image(index) {
            Some(bytes) if out.len() == PIXELS => {
                for (value, &byte) in out.iter_mut().zip(bytes) {
                    *value = byte_to_unit(byte);
                }
                true
            }
            _ => false,
        }
    }

    /// How many digits of each class there are.
    pub fn class_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &label in &self.labels {
            if let Some(count) = counts.get_mut(usize::from(label)) {
                *count += 1;
            }
        }
        counts
    }
}

/// A pixel byte (0–255) as a value in [-1, 1]: `byte / 127.5 − 1`, exactly as the PyTorch trainer
/// computes it in f32.
pub fn byte_to_unit(byte: u8) -> f32 {
    f32::from(byte) / 127.5 - 1.0
}

/// A value in [-1, 1] as a pixel byte (clamped and rounded), for showing a digit.
pub fn unit_to_byte(value: f32) -> u8 {
    // Clamped to 0..=255 first, so the cast cannot truncate.
    ((value.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Why a set of digits could not be read.
///
/// `Display` gives a short English description; [`MnistError::sentence`] gives the sentence the
/// window and the command line show, in either language.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    /// The file could not be read at all.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The path is not an ordinary file (a pipe, a device, a folder) or the file is larger than
    /// [`MAX_FILE_BYTES`]; nothing was read from it.
    #[error("{} refused: {refusal}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        refusal: FileRefusal,
    },
    /// The header announces more digits than [`MAX_DIGITS`].
    #[error("{} announces {count} digits, more than {MAX_DIGITS}", path.display())]
    TooManyDigits {
        /// The file.
        path: PathBuf,
        /// The count in its header.
        count: u32,
    },
    /// The file starts like gzip but does not decompress.
    #[error("{} is not a valid gzip file: {detail}", path.display())]
    BadGzip {
        /// The file.
        path: PathBuf,
        /// What the decompressor said.
        detail: String,
    },
    /// The file does not start with the IDX magic number expected for its kind.
    #[error("{} has magic number {found:#010x}, expected {expected:#010x}", path.display())]
    WrongMagic {
        /// The file.
        path: PathBuf,
        /// The magic number of the expected kind (images 0x803, labels 0x801).
        expected: u32,
        /// The first four bytes of the file, big-endian.
        found: u32,
    },
    /// The file ends before the header or the data it announces.
    #[error("{} is truncated: {found} bytes where {expected} were expected", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces (header included), after decompression.
        expected: u64,
        /// Bytes actually there, after decompression.
        found: u64,
    },
    /// The file holds more bytes than its header announces.
    #[error("{} has data past the {expected} bytes its header announces", path.display())]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces (header included), after decompression.
        expected: u64,
    },
    /// The images are not 28×28.
    #[error("{} holds {rows}×{cols} images, not 28×28", path.display())]
    WrongSize {
        /// The images file.
        path: PathBuf,
        /// Rows per image in the header.
        rows: u32,
        /// Columns per image in the header.
        cols: u32,
    },
    /// The two files hold different numbers of digits.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Count in the images file.
        images: usize,
        /// Count in the labels file.
        labels: usize,
    },
    /// A label is not a digit 0–9.
    #[error("{}: label {label} of digit {index} is not 0–9", path.display())]
    BadLabel {
        /// The labels file.
        path: PathBuf,
        /// Position of the digit (from 0).
        index: usize,
        /// The byte found.
        label: u8,
    },
}

impl MnistError {
    /// One clear sentence for the user, naming the file involved.
    #[expect(
        clippy::too_many_lines,
        reason = "a table: one sentence for each kind of error in each language"
    )]
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Io { path, source }, Lang::En) => {
                format!("Could not read “{}”: {source}.", path.display())
            }
            (Self::Io { path, source }, Lang::Zh) => {
                format!("无法读取“{}”：{source}。", path.display())
            }
            (Self::Refused { path, refusal }, lang) => {
                refusal.sentence(&path.display().to_string(), lang)
            }
            (Self::TooManyDigits { path, count }, Lang::En) => format!(
                "“{}” announces {count} digits; Diffuscope reads at most {MAX_DIGITS} \
                 (about {} MB of pixels), so that the training data fits in memory.",
                path.display(),
                megabytes(MAX_FILE_BYTES)
            ),
            (Self::TooManyDigits { path, count }, Lang::Zh) => format!(
                "“{}”声明有 {count} 个数字；Diffuscope 最多读取 {MAX_DIGITS} 个\
                 （约 {} MB 像素数据），以免训练数据占满内存。",
                path.display(),
                megabytes(MAX_FILE_BYTES)
            ),
            (Self::BadGzip { path, detail }, Lang::En) => format!(
                "“{}” is not a valid gzip file ({detail}); it may be damaged or incompletely downloaded.",
                path.display()
            ),
            (Self::BadGzip { path, detail }, Lang::Zh) => format!(
                "“{}”不是有效的 gzip 文件（{detail}），可能已损坏或未下载完整。",
                path.display()
            ),
            (
                Self::WrongMagic {
                    path,
                    expected,
                    found,
                },
                Lang::En,
            ) => format!(
                "“{}” is not an MNIST {} file (it starts with {found:#010x}, not {expected:#010x}).",
                path.display(),
                kind_name(*expected, lang)
            ),
            (
                Self::WrongMagic {
                    path,
                    expected,
                    found,
                },
                Lang::Zh,
            ) => format!(
                "“{}”不是 MNIST {}文件（开头是 {found:#010x}，而不是 {expected:#010x}）。",
                path.display(),
                kind_name(*expected, lang)
            ),
            (
                Self::Truncated {
                    path,
                    expected,
                    found,
                },
                Lang::En,
            ) => format!(
                "“{}” is cut short: it holds {found} bytes but should hold {expected}.",
                path.display()
            ),
            (
                Self::Truncated {
                    path,
                    expected,
                    found,
                },
                Lang::Zh,
            ) => format!(
                "“{}”不完整：只有 {found} 字节，应有 {expected} 字节。",
                path.display()
            ),
            (Self::TrailingData { path, expected }, Lang::En) => format!(
                "“{}” holds more data than its header announces ({expected} bytes); it is not a valid MNIST file.",
                path.display()
            ),
            (Self::TrailingData { path, expected }, Lang::Zh) => format!(
                "“{}”的数据比文件头声明的（{expected} 字节）更多，不是有效的 MNIST 文件。",
                path.display()
            ),
            (Self::WrongSize { path, rows, cols }, Lang::En) => format!(
                "“{}” holds {rows}×{cols} images; the digit models need 28×28.",
                path.display()
            ),
            (Self::WrongSize { path, rows, cols }, Lang::Zh) => format!(
                "“{}”中的图像是 {rows}×{cols}，数字模型需要 28×28。",
                path.display()
            ),
            (Self::CountMismatch { images, labels }, Lang::En) => format!(
                "The images file holds {images} digits but the labels file holds {labels} labels; they do not belong together."
            ),
            (Self::CountMismatch { images, labels }, Lang::Zh) => {
                format!("图像文件有 {images} 个数字，而标签文件有 {labels} 个标签，二者不匹配。")
            }
            (Self::BadLabel { path, index, label }, Lang::En) => format!(
                "“{}”: the label of digit {index} is {label}, but labels must be 0 to 9.",
                path.display()
            ),
            (Self::BadLabel { path, index, label }, Lang::Zh) => format!(
                "“{}”：第 {index} 个数字的标签是 {label}，但标签必须是 0 到 9。",
                path.display()
            ),
        }
    }
}

fn kind_name(magic: u32, lang: Lang) -> &'static str {
    if magic == IMAGES_MAGIC {
        lang.pick("images", "图像")
    } else {
        lang.pick("labels", "标签")
    }
}

/// Reads an images file and a labels file (each gzip-compressed or plain IDX) and checks that
/// they belong together. Only ordinary files of at most [`MAX_FILE_BYTES`] are read.
pub fn load_digits(images: &Path, labels: &Path) -> Result<Digits, MnistError> {
    let read = |path: &Path| {
        read_regular_file(path, MAX_FILE_BYTES).map_err(|error| match error {
            ReadError::Io(source) => MnistError::Io {
                path: path.to_path_buf(),
                source,
            },
            ReadError::Refused(refusal) => MnistError::Refused {
                path: path.to_path_buf(),
                refusal,
            },
        })
    };
    let image_bytes = read(images)?;
    let label_bytes = read(labels)?;
    parse_digits(&image_bytes, images, &label_bytes, labels)
}

/// The 10,000 digits shipped inside the program (no files needed, from any folder).
pub fn load_bundled_digits() -> Result<Digits, MnistError> {
    parse_digits(
        BUNDLED_IMAGES,
        Path::new(BUNDLED_IMAGES_NAME),
        BUNDLED_LABELS,
        Path::new(BUNDLED_LABELS_NAME),
    )
}

/// Parses the contents of an images file and a labels file; the paths only name them in errors.
pub fn parse_digits(
    image_file: &[u8],
    images_path: &Path,
    label_file: &[u8],
    labels_path: &Path,
) -> Result<Digits, MnistError> {
    let images = parse_idx(image_file, images_path, IMAGES_MAGIC)?;
    let labels = parse_idx(label_file, labels_path, LABELS_MAGIC)?;
    if images.count != labels.count {
        return Err(MnistError::CountMismatch {
            images: images.count,
            labels: labels.count,
        });
    }
    if let Some((index, &label)) = labels
        .data
        .iter()
        .enumerate()
        .find(|&(_, &label)| usize::from(label) >= CLASSES)
    {
        return Err(MnistError::BadLabel {
            path: labels_path.to_path_buf(),
            index,
            label,
        });
    }
    Ok(Digits {
        images: images.data,
        labels: labels.data,
        count: images.count,
    })
}

/// The body of one IDX file after its header was checked.
struct Idx {
    count: usize,
    data: Vec<u8>,
}

/// Reads one IDX file of the kind `magic` (images: count×28×28 bytes; labels: count bytes).
///
/// The header is read first; a count above [`MAX_DIGITS`] is refused at once, and the body is read
/// only up to the length the header announces (plus one byte to detect trailing data), so a
/// hostile file cannot make us decompress without end.
fn parse_idx(file: &[u8], path: &Path, magic: u32) -> Result<Idx, MnistError> {
    let mut reader: Box<dyn Read + '_> = if file.starts_with(&GZIP_MAGIC) {
        Box::new(GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let header_len: usize = if magic == IMAGES_MAGIC { 16 } else { 8 };
    let mut header = vec![0u8; header_len];
    let got = read_up_to(&mut reader, &mut header, path)?;
    if got < 4 {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected: header_len as u64,
            found: got as u64,
        });
    }
    let word =
        |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let found = word(0);
    if found != magic {
        return Err(MnistError::WrongMagic {
            path: path.to_path_buf(),
            expected: magic,
            found,
        });
    }
    if got < header_len {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected: header_len as u64,
            found: got as u64,
        });
    }
    let count = word(4);
    if count > MAX_DIGITS {
        return Err(MnistError::TooManyDigits {
            path: path.to_path_buf(),
            count,
        });
    }
    let item_len: u64 = if magic == IMAGES_MAGIC {
        let (rows, cols) = (word(8), word(12));
        if rows as usize != SIDE || cols as usize != SIDE {
            return Err(MnistError::WrongSize {
                path: path.to_path_buf(),
                rows,
                cols,
            });
        }
        PIXELS as u64
    } else {
        1
    };
    let body_len = u64::from(count) * item_len;
    let expected = header_len as u64 + body_len;
    let mut data = Vec::new();
    reader
        .take(body_len + 1)
        .read_to_end(&mut data)
        .map_err(|error| decode_error(&error, path))?;
    let found_body = data.len() as u64;
    if found_body < body_len {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected,
            found: header_len as u64 + found_body,
        });
    }
    if found_body > body_len {
        return Err(MnistError::TrailingData {
            path: path.to_path_buf(),
            expected,
        });
    }
    Ok(Idx {
        count: count as usize,
        data,
    })
}

/// Reads until `buffer` is full or the stream ends; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buffer: &mut [u8], path: &Path) -> Result<usize, MnistError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(decode_error(&error, path)),
        }
    }
    Ok(filled)
}

/// Reading from memory fails only when decompression does.
fn decode_error(error: &io::Error, path: &Path) -> MnistError {
    MnistError::BadGzip {
        path: path.to_path_buf(),
        detail: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_map_to_minus_one_and_one() {
        assert_eq!(byte_to_unit(0), -1.0);
        assert_eq!(byte_to_unit(255), 1.0);
        assert_eq!(unit_to_byte(-1.0), 0);
        assert_eq!(unit_to_byte(1.0), 255);
        for byte in 0..=255 {
            assert_eq!(unit_to_byte(byte_to_unit(byte)), byte);
        }
    }

    #[test]
    fn digit_accessors_stop_at_the_end() {
        let digits = Digits {
            images: vec![7; 2 * PIXELS],
            labels: vec![3, 9],
            count: 2,
        };
        assert_eq!(digits.image(1).map(<[u8]>::len), Some(PIXELS));
        assert!(digits.image(2).is_none());
        assert_eq!(digits.label(1), Some(9));
        assert!(digits.label(2).is_none());
        let mut out = vec![0.0; PIXELS];
        assert!(digits.write_image_unit(0, &mut out));
        assert!(!digits.write_image_unit(2, &mut out));
        assert!(!digits.write_image_unit(0, &mut out[1..]));
        assert_eq!(digits.class_counts()[3], 1);
    }
}
