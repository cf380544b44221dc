//! Guided tours: the built-in lessons, one or more per view, whose slides carry a card saying what
//! to look for; the card drawn over the view; and the highlight of the control or panel the card
//! talks about.
//!
//! A view takes part by marking its controls ([`mark`]) under names such as `forward.schedule`;
//! the card of the slide shown names one, and [`mark`] frames it. Tours are lessons like any
//! other: a teacher can save one, edit its cards and share it.

use eframe::egui::{self, Color32, Id, Stroke, StrokeKind};

use super::compare::CompareView;
use super::compare::state::CompareSettings;
use super::evaluate::{EvaluateSettings, EvaluateView};
use super::forward::ForwardView;
use super::forward::slide::{ForwardSlide, SlidePhoto};
use super::forward::state::ForwardSettings;
use super::lesson::{Card, Lesson, Slide};
use super::playground::{PlaygroundSettings, PlaygroundView};
use super::reverse::ReverseView;
use super::reverse::state::ReverseSettings;
use super::views::settings_slide;
use crate::data::bundled::BundledPhoto;
use crate::diffusion::{ScheduleConfig, ScheduleKind};
use crate::i18n::Lang;

/// The colour of a highlight: amber, seen on dark and light panels and by colour-blind eyes.
const HIGHLIGHT: Color32 = Color32::from_rgb(255, 176, 0);

fn highlight_id() -> Id {
    Id::unique("diffuscope-tour-highlight")
}

fn drawn_id() -> Id {
    Id::unique("diffuscope-tour-drawn")
}

/// Highlights `target` from now on (`None`: nothing).
pub fn set_highlight(ctx: &egui::Context, target: Option<String>) {
    ctx.data_mut(|d| match target {
        Some(target) => {
            d.insert_temp(highlight_id(), target);
        }
        None => d.remove::<String>(highlight_id()),
    });
}

/// Frames `response` if it is the control the tour's card points at; views call it after drawing
/// each control a tour may name.
pub fn mark(ui: &egui::Ui, target: &str, response: &egui::Response) {
    let ctx = ui.ctx();
    if ctx
        .data(|d| d.get_temp::<String>(highlight_id()))
        .as_deref()
        != Some(target)
    {
        return;
    }
    let rect = response.rect.expand(4.0);
    ui.painter()
        .rect_stroke(rect, 4.0, Stroke::new(3.0, HIGHLIGHT), StrokeKind::Outside);
    ctx.data_mut(|d| d.insert_temp(drawn_id(), target.to_owned()));
}

/// The target framed during the last frame, if any (for the tests and the card's wording).
pub fn drawn_highlight(ctx: &egui::Context) -> Option<String> {
    ctx.data(|d| d.get_temp::<String>(drawn_id()))
}

/// Forgets the frame drawn last; called at the start of each frame.
pub fn begin_frame(ctx: &egui::Context) {
    ctx.data_mut(|d| d.remove::<String>(drawn_id()));
}

/// A built-in lesson: its title in both languages and how to make it.
#[derive(Clone, Copy)]
pub struct BuiltIn {
    /// (English, Chinese).
    pub title: (&'static str, &'static str),
    /// Makes the lesson.
    pub make: fn() -> Lesson,
}

impl BuiltIn {
    /// The lesson, titled in `lang`.
    pub fn lesson(&self, lang: Lang) -> Lesson {
        Lesson {
            title: lang.pick(self.title.0, self.title.1).to_owned(),
            ..(self.make)()
        }
    }
}

/// The built-in tours, in the order of the course.
pub const BUILT_IN: [BuiltIn; 8] = [
    BuiltIn {
        title: (
            "The photo is never fully gone at T = 50",
            "T = 50 时照片从未完全消失",
        ),
        make: short_schedule,
    },
    BuiltIn {
        title: (
            "Linear vs cosine: where does the photo disappear?",
            "线性与余弦：照片在哪里消失？",
        ),
        make: linear_vs_cosine,
    },
    BuiltIn {
        title: ("Too few DDPM steps", "DDPM 步数太少"),
        make: too_few_ddpm_steps,
    },
    BuiltIn {
        title: ("Guidance 0 vs 7", "引导 0 与 7"),
        make: guidance_race,
    },
    BuiltIn {
        title: (
            "ε, v and flow from the same noise",
            "同一噪声出发的 ε、v 与流匹配",
        ),
        make: objectives_race,
    },
    BuiltIn {
        title: ("DPM-Solver++ in 20 calls", "DPM-Solver++ 只需 20 次调用"),
        make: solver_race,
    },
    BuiltIn {
        title: ("Why FID needs many samples", "为什么 FID 需要很多样本"),
        make: fid_needs_samples,
    },
    BuiltIn {
        title: (
            "Points in the plane: too few noise steps, and the learned field",
            "平面上的点：噪声步数太少，以及学到的场",
        ),
        make: playground_steps,
    },
];

fn card(en: &str, zh: &str, target: &str) -> Card {
    Card {
        en: en.to_owned(),
        zh: zh.to_owned(),
        target: Some(target.to_owned()),
    }
}

/// A Forward slide on the cat: `kind` with T steps, at t.
fn forward_slide(kind: ScheduleKind, steps: usize, t: usize, card: Card) -> Slide {
    let (beta_start, beta_end) = kind.default_beta_range();
    let settings = ForwardSettings {
        schedule: ScheduleConfig {
            kind,
            steps,
            beta_start,
            beta_end,
            zero_terminal_snr: false,
        },
        ..ForwardSettings::default()
    };
    let state = ForwardSlide {
        settings,
        t,
        photo: SlidePhoto::Bundled(BundledPhoto::Cat),
    };
    Slide {
        view: ForwardView::KEY.to_owned(),
        views: [(
            ForwardView::KEY.to_owned(),
            serde_json::to_value(state).unwrap_or_default(),
        )]
        .into(),
        card: Some(card),
    }
}

fn short_schedule() -> Lesson {
    Lesson::new(
        "",
        vec![
            forward_slide(
                ScheduleKind::Linear,
                1000,
                1000,
                card(
                    "T = 1000 steps of the linear schedule: at t = T the cat is gone, x_T is pure noise. Sampling starts from exactly such noise.",
                    "线性调度 T = 1000 步：到 t = T 时猫已完全消失，x_T 是纯噪声。采样正是从这样的噪声出发。",
                    "forward.x_t",
                ),
            ),
            forward_slide(
                ScheduleKind::Linear,
                50,
                50,
                card(
                    "The same β range in only T = 50 steps: ᾱ_T ≈ 0.6, and the cat is still plain at t = T. A model trained so never sees pure noise, yet sampling would start from it.",
                    "同样的 β 范围只用 T = 50 步：ᾱ_T ≈ 0.6，到 t = T 时猫依然清晰。这样训练的模型从未见过纯噪声，而采样却要从纯噪声开始。",
                    "forward.steps",
                ),
            ),
        ],
    )
}

fn linear_vs_cosine() -> Lesson {
    Lesson::new(
        "",
        vec![
            forward_slide(
                ScheduleKind::Linear,
                1000,
                300,
                card(
                    "Linear schedule at t = 300 of 1000: the cat is already mostly noise. Linear β destroys the picture early and spends the last steps on noise that is already noise.",
                    "线性调度在 t = 300（共 1000）：猫已经大半成了噪声。线性 β 很早就毁掉图像，最后许多步都花在早已是噪声的图上。",
                    "forward.schedule",
                ),
            ),
            forward_slide(
                ScheduleKind::Cosine,
                1000,
                300,
                card(
                    "Cosine schedule at the same t = 300: the cat is still clear. Cosine keeps the signal longer and lets it fall off evenly.",
                    "同样 t = 300 的余弦调度：猫依然清晰。余弦调度让信号保留得更久，并均匀地减弱。",
                    "forward.schedule",
                ),
            ),
            forward_slide(
                ScheduleKind::Cosine,
                1000,
                700,
                card(
                    "Drag t and watch √ᾱ_t in the plot: where it falls through 0.5 is where the photo gives way to noise.",
                    "拖动 t 并观察图中的 √ᾱ_t：它降到 0.5 以下的地方，就是照片让位于噪声的地方。",
                    "forward.t",
                ),
            ),
        ],
    )
}

/// A Reverse slide: the sampler with `steps`, digit 7, guidance 3.
fn reverse_slide(sampler: &str, steps: usize, card: Card) -> Slide {
    let settings = ReverseSettings {
        sampler: sampler.to_owned(),
        steps,
        ..ReverseSettings::default()
    };
    settings_only_slide(ReverseView::KEY, &settings, card)
}

/// A slide that shows view `key` with `settings` (the other views keep theirs).
fn settings_only_slide(key: &str, settings: &impl serde::Serialize, card: Card) -> Slide {
    Slide {
        view: key.to_owned(),
        views: [(key.to_owned(), settings_slide(settings))].into(),
        card: Some(card),
    }
}

fn too_few_ddpm_steps() -> Lesson {
    Lesson::new(
        "",
        vec![
            reverse_slide(
                "ddpm",
                1000,
                card(
                    "DDPM with its 1000 steps: press G. Each step removes a little noise and adds some back; the digits come out clean.",
                    "DDPM 用全部 1000 步：按 G。每一步去掉一点噪声、再加回一些；得到的数字很干净。",
                    "reverse.generate",
                ),
            ),
            reverse_slide(
                "ddpm",
                20,
                card(
                    "DDPM with only 20 steps: press G. Each step is now far too large for the small Gaussian step DDPM assumes: the digits stay grainy.",
                    "DDPM 只用 20 步：按 G。每一步都远大于 DDPM 假设的微小高斯步长：数字仍然满是颗粒。",
                    "reverse.steps",
                ),
            ),
            reverse_slide(
                "ddim",
                20,
                card(
                    "DDIM with the same 20 steps and the same model: press G. A deterministic path needs far fewer steps.",
                    "同一个模型、同样 20 步的 DDIM：按 G。确定性的路径所需的步数少得多。",
                    "reverse.generate",
                ),
            ),
        ],
    )
}

/// A Compare slide racing preset `preset` for digit 7.
fn race_slide(preset: usize, card: Card) -> Slide {
    let settings = CompareSettings {
        preset,
        ..CompareSettings::default()
    };
    settings_only_slide(CompareView::KEY, &settings, card)
}

fn guidance_race() -> Lesson {
    Lesson::new(
        "",
        vec![race_slide(
            2,
            card(
                "Four lanes, the same noise, guidance w = 0, 1, 3, 7: press G. At 0 the model draws any digit; as w grows the 7s get bolder and all alike.",
                "四条赛道、同样的噪声，引导 w = 0、1、3、7：按 G。w = 0 时模型画任意数字；w 越大，7 越粗重、也越千篇一律。",
                "compare.race",
            ),
        )],
    )
}

fn objectives_race() -> Lesson {
    Lesson::new(
        "",
        vec![race_slide(
            1,
            card(
                "ε-, v- and flow-prediction models, 20 steps each from the same noise: press G. Three ways to learn the same thing; watch which settles first.",
                "ε 预测、v 预测和流匹配模型，各 20 步、从同一噪声出发：按 G。三种学习同一件事的方式；看哪一个最先稳定。",
                "compare.race",
            ),
        )],
    )
}

fn solver_race() -> Lesson {
    Lesson::new(
        "",
        vec![race_slide(
            0,
            card(
                "One clock for all, counted in network calls: press G. DPM-Solver++ is done at 20 calls while DDPM is still noise; the chart below shows how far each lane's guess is from its own final picture.",
                "所有赛道共用一个以网络调用次数计的时钟：按 G。DPM-Solver++ 在 20 次调用时已完成，而 DDPM 还是一片噪声；下方图表显示每条赛道的猜测离它自己的最终结果有多远。",
                "compare.race",
            ),
        )],
    )
}

/// An Evaluate slide: DDIM at 4–32 steps, `samples` digits per point, three seeds.
fn evaluate_slide(samples: usize, card: Card) -> Slide {
    let settings = EvaluateSettings {
        samplers: vec!["ddim".into()],
        samples,
        repeats: 3,
        ..EvaluateSettings::default()
    };
    settings_only_slide(EvaluateView::KEY, &settings, card)
}

fn fid_needs_samples() -> Lesson {
    Lesson::new(
        "",
        vec![
            evaluate_slide(
                50,
                card(
                    "50 digits per point, three seeds: press M. The three dots of one step count lie far apart, and the real digits' own floor is high: on 50 samples FID mostly measures chance.",
                    "每个点 50 个数字、三个种子：按 M。同一步数的三个点相距很远，真实数字自身的下限也很高：只有 50 个样本时，FID 主要衡量的是偶然。",
                    "evaluate.measure",
                ),
            ),
            evaluate_slide(
                300,
                card(
                    "300 digits per point: press M again. The dots close up and the floor drops; only differences larger than the spread of the dots mean anything.",
                    "每个点 300 个数字：再按 M。各点靠拢，下限降低；只有大于点之间离散程度的差别才有意义。",
                    "evaluate.measure",
                ),
            ),
        ],
    )
}

/// A Playground slide: ε-prediction on the two moons with T steps.
fn playground_slide(timesteps: usize, field: bool, card: Card) -> Slide {
    let mut settings = PlaygroundSettings {
        objective: crate::diffusion::objectives::Objective::Eps,
        timesteps,
        ..PlaygroundSettings::default()
    };
    settings.layers.field = field;
    settings_only_slide(PlaygroundView::KEY, &settings, card)
}

fn playground_steps() -> Lesson {
    Lesson::new(
        "",
        vec![
            playground_slide(
                1000,
                false,
                card(
                    "Two moons, T = 1000: drag t to the end (or hold →). Every point drifts along its own noise until the moons are a round Gaussian cloud. Then press Space: the model learns, and the blue samples gather onto the moons.",
                    "双月数据，T = 1000：把 t 拖到最右（或按住 →）。每个点沿着自己的噪声漂移，直到双月变成一团圆形的高斯云。然后按空格：模型开始学习，蓝色样本逐渐聚到双月上。",
                    "playground.t",
                ),
            ),
            playground_slide(
                50,
                false,
                card(
                    "The same data with T = 50: drag t to the end. The moons are still there: 50 small steps of the same β do not reach noise. Train: sampling starts from pure noise, which the model never saw, and its samples miss.",
                    "同样的数据，T = 50：把 t 拖到最右。双月依然可见：50 个同样大小的 β 小步到不了纯噪声。训练：采样从模型从未见过的纯噪声出发，样本就会偏离。",
                    "playground.timesteps",
                ),
            ),
            playground_slide(
                1000,
                true,
                card(
                    "The field: from each point x, an arrow towards the model's guess of the clean point x̂0. Train, then move t: near T every arrow points to the middle of the data, near 0 to the nearest moon.",
                    "场：从每个点 x 指向模型对干净点 x̂0 的猜测。先训练，再移动 t：接近 T 时所有箭头都指向数据中心，接近 0 时指向最近的那一弯月。",
                    "playground.field",
                ),
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tour_has_titled_slides_with_cards_in_both_languages() {
        for tour in BUILT_IN {
            let lesson = tour.lesson(Lang::Zh);
            assert_eq!(lesson.title, tour.title.1);
            assert!(!lesson.slides.is_empty());
            for slide in &lesson.slides {
                let card = slide.card.as_ref().unwrap();
                assert!(!card.en.is_empty() && !card.zh.is_empty());
                assert!(card.target.as_deref().unwrap().starts_with(&slide.view));
            }
        }
    }
}
