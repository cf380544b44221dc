//! The photos shipped inside the program, so the Forward view has something to noise from the start.

use serde::{Deserialize, Serialize};

use crate::data::load::{LoadError, LoadedPicture, load_picture_from_bytes};
use crate::i18n::Lang;

/// One of the sample photos built into the program (see `assets/images/README.md` for sources).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BundledPhoto {
    /// A cat's face with sharp fur (`chelsea.png`, 451×300); the default starting picture.
    #[default]
    Cat,
    /// A coffee cup, smooth ellipses (`coffee.png`, 600×400).
    Coffee,
    /// A portrait of astronaut Eileen Collins (`astronaut.png`, 512×512).
    Astronaut,
}

impl BundledPhoto {
    /// Every bundled photo, in menu order.
    pub const ALL: [Self; 3] = [Self::Cat, Self::Coffee, Self::Astronaut];

    /// The photo's name as shown in menus.
    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Self::Cat => lang.pick("Cat", "猫"),
            Self::Coffee => lang.pick("Coffee", "咖啡"),
            Self::Astronaut => lang.pick("Astronaut", "宇航员"),
        }
    }

    /// The PNG file's bytes, compiled into the program.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Self::Cat => include_bytes!("../../assets/images/chelsea.png"),
            Self::Coffee => include_bytes!("../../assets/images/coffee.png"),
            Self::Astronaut => include_bytes!("../../assets/images/astronaut.png"),
        }
    }

    /// Decodes the photo (it is small enough never to be scaled down).
    pub fn load(self) -> Result<LoadedPicture, LoadError> {
        load_picture_from_bytes(self.bytes())
    }
}
