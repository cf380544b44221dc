//! What the classifier reads in a set of samples: agreement with the digit each was asked to be
//! (the stand-in for CLIPScore: does the picture match its prompt?), and for samples drawn without
//! a class, the share of each digit and the entropy of those shares (log₂ 10 ≈ 3.32 bits when all
//! ten are equally common, 0 when the model makes only one digit).

use crate::model::classifier::DIGIT_CLASSES;

/// The classifier's reading of a set of samples.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassReading {
    /// The share of samples read as each digit.
    pub shares: [f64; DIGIT_CLASSES],
    /// The share of samples read as the digit they were asked to be, over those asked for one;
    /// `None` when none was.
    pub agreement: Option<f64>,
}

impl ClassReading {
    /// The reading of samples the classifier read as `read`, asked to be `asked` (one entry per
    /// sample; `None` for "any digit").
    pub fn new(read: &[u32], asked: &[Option<u32>]) -> Self {
        let mut counts = [0usize; DIGIT_CLASSES];
        for &digit in read {
            if let Some(count) = counts.get_mut(digit as usize) {
                *count += 1;
            }
        }
        let total = read.len().max(1) as f64;
        let pairs = read.iter().zip(asked);
        let requested = pairs.clone().filter(|(_, asked)| asked.is_some()).count();
        let matching = pairs.filter(|&(&read, &asked)| asked == Some(read)).count();
        Self {
            shares: counts.map(|count| count as f64 / total),
            agreement: (requested > 0).then(|| matching as f64 / requested as f64),
        }
    }

    /// The entropy of the shares, in bits.
    pub fn entropy_bits(&self) -> f64 {
        entropy_bits(&self.shares)
    }

    /// The largest gap between a digit's share here and in `other` (e.g. the real digits').
    pub fn largest_share_gap(&self, other: &[f64; DIGIT_CLASSES]) -> f64 {
        self.shares
            .iter()
            .zip(other)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }
}

/// −Σ p log₂ p over the shares (terms with p = 0 are 0).
pub fn entropy_bits(shares: &[f64]) -> f64 {
    shares
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| -p * p.log2())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agreement_only_over_samples_asked_for_a_digit() {
        let reading = ClassReading::new(&[7, 7, 1, 3], &[Some(7), Some(1), Some(1), None]);
        assert_eq!(reading.agreement, Some(2.0 / 3.0));
        assert_eq!(reading.shares[7], 0.5);
        assert_eq!(reading.shares[1], 0.25);
        assert_eq!(ClassReading::new(&[1, 2], &[None, None]).agreement, None);
    }

    #[test]
    fn entropy_is_log2_of_the_classes_when_even_and_zero_for_one() {
        let even = ClassReading::new(&(0..10).collect::<Vec<_>>(), &[None; 10]);
        assert!((even.entropy_bits() - 10f64.log2()).abs() < 1e-12);
        assert_eq!(
            ClassReading::new(&[4, 4, 4], &[None; 3]).entropy_bits(),
            0.0
        );
        assert!((even.largest_share_gap(&[0.1; 10])).abs() < 1e-12);
    }
}
