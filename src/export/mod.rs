//! Writing what the program made to disk: animated GIFs, PNG stills, and captions for slides.
//!
//! Every file is written to a temporary name in the destination folder and renamed into place
//! ([`atomic`]), so a failed export never leaves half a file behind.

pub mod atomic;
pub mod attention;
pub mod budget;
mod caption;
pub mod chart;
pub mod cleanup;
mod delta;
mod error;
pub mod figure;
pub mod forward;
mod frame_folder;
pub mod gif_stream;
mod gif_writer;
pub mod plane;
mod png_writer;
mod quantise;
pub mod race;
pub mod reverse;
pub mod sheet;
pub mod strip;

pub use caption::{add_caption, caption_height, with_caption, with_caption_band};
pub use error::{ExportError, SpecialFile};
pub use frame_folder::{FrameFolder, check_frame_folder, frame_name, write_frame_folder};
pub use gif_writer::{GifSettings, Repeat, write_gif};
pub use png_writer::write_png;
