//! The two languages of the interface and the table of every user-facing string.

use serde::{Deserialize, Serialize};

/// A language of the interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese (简体中文).
    Zh,
}

impl Lang {
    /// Both languages, in menu order.
    pub const ALL: [Self; 2] = [Self::En, Self::Zh];

    /// The language of the operating system, if it is one of ours; English otherwise.
    pub fn from_system() -> Self {
        sys_locale::get_locale().map_or(Self::En, |tag| Self::from_tag(&tag))
    }

    /// The language for a BCP-47 tag such as `zh-CN` or `en_US.UTF-8`.
    pub fn from_tag(tag: &str) -> Self {
        if tag.to_ascii_lowercase().starts_with("zh") {
            Self::Zh
        } else {
            Self::En
        }
    }

    /// The language's own name, as shown in the language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Zh => "简体中文",
        }
    }

    /// Picks the text for this language (fixed strings, or sentences formatted for each).
    pub fn pick<T>(self, en: T, zh: T) -> T {
        match self {
            Self::En => en,
            Self::Zh => zh,
        }
    }
}

/// Every fixed string of the interface. `Lang::tr` gives its text in a language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[expect(
    missing_docs,
    reason = "each variant is documented by its English text in `tr`"
)]
pub enum Text {
    AppTitle,
    ViewForward,
    Photo,
    OpenImage,
    OpenImageHint,
    ExportGif,
    SavePng,
    Language,
    About,
    Schedule,
    ScheduleLinear,
    ScheduleCosine,
    ScheduleSigmoid,
    ScheduleScaledLinear,
    Steps,
    ZeroTerminalSnr,
    ZeroTerminalSnrHint,
    HowToReachT,
    Jump,
    JumpHint,
    Chain,
    ChainHint,
    Seed,
    NewSeed,
    Play,
    Pause,
    Timestep,
    CleanImage,
    NoisyImage,
    Noise,
    SignalAndNoise,
    SignalWeight,
    NoiseWeight,
    LogSnr,
    Histogram,
    HistogramOfXt,
    StandardNormal,
    NoisePartStd,
    Expected,
    Measured,
    WalkingChain,
    WalkResolution,
    SignalLeftWarning,
    WhatAmILookingAt,
    ForwardExplanation,
    Details,
    Dismiss,
    Loading,
    DropToOpen,
    ExportTitle,
    Frames,
    FramesPerSecond,
    Width,
    Loop,
    LoopForever,
    LoopOnce,
    LoopTimes,
    Export,
    Cancel,
    Exporting,
    Close,
    AboutText,
    Credits,
    BackgroundFailed,
    JobNotStarted,
    ResetToDefaults,
    ResetToDefaultsHint,
    PlaySpeedHint,
    CompareSchedules,
    CompareSchedulesHint,
    ComparedDashed,
}

impl Lang {
    /// The text of `text` in this language.
    #[expect(
        clippy::too_many_lines,
        reason = "a table: every text of the interface in each language"
    )]
    pub fn tr(self, text: Text) -> &'static str {
        let (en, zh) = match text {
            Text::AppTitle => ("Diffuscope", "Diffuscope 扩散显微镜"),
            Text::ViewForward => ("Forward: adding noise", "前向过程：加噪"),
            Text::Photo => ("Photo", "照片"),
            Text::OpenImage => ("Open image…", "打开图片…"),
            Text::OpenImageHint => (
                "Open any PNG, JPEG, WebP, GIF or BMP (Ctrl+O), or drop a file on the window",
                "打开 PNG、JPEG、WebP、GIF 或 BMP 图片（Ctrl+O），或把文件拖到窗口上",
            ),
            Text::ExportGif => ("Export GIF…", "导出 GIF…"),
            Text::SavePng => ("Save frame as PNG…", "将当前帧保存为 PNG…"),
            Text::Language => ("Language", "语言"),
            Text::About => ("About", "关于"),
            Text::Schedule => ("Noise schedule", "噪声调度"),
            Text::ScheduleLinear => ("linear (DDPM)", "线性（DDPM）"),
            Text::ScheduleCosine => ("cosine (Nichol & Dhariwal)", "余弦（Nichol 与 Dhariwal）"),
            Text::ScheduleSigmoid => ("sigmoid", "S 型（sigmoid）"),
            Text::ScheduleScaledLinear => (
                "scaled linear (Stable Diffusion)",
                "缩放线性（Stable Diffusion）",
            ),
            Text::Steps => ("Steps T", "步数 T"),
            Text::ZeroTerminalSnr => ("Rescale to zero terminal SNR", "重缩放到终点信噪比为零"),
            Text::ZeroTerminalSnrHint => (
                "Shift the schedule so that no trace of the photo is left at t = T (Lin et al. 2023)",
                "调整调度，使 t = T 时照片不留任何痕迹（Lin 等，2023）",
            ),
            Text::HowToReachT => ("How to reach t", "如何到达 t"),
            Text::Jump => ("Jump straight to t", "直接跳到 t"),
            Text::JumpHint => (
                "Closed form x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε with one noise draw ε",
                "闭式公式 x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε，只抽取一次噪声 ε",
            ),
            Text::Chain => ("Walk step by step", "一步一步走"),
            Text::ChainHint => (
                "The Markov chain x_t = √α_t·x_(t−1) + √β_t·z_t with fresh noise z_t at every step",
                "马尔可夫链 x_t = √α_t·x_(t−1) + √β_t·z_t，每一步都抽取新的噪声 z_t",
            ),
            Text::Seed => ("Seed", "随机种子"),
            Text::NewSeed => ("New noise", "换一组噪声"),
            Text::Play => ("▶ Play", "▶ 播放"),
            Text::Pause => ("❚❚ Pause", "❚❚ 暂停"),
            Text::Timestep => ("Timestep t", "时间步 t"),
            Text::CleanImage => ("x0: the clean image", "x0：干净的图像"),
            Text::NoisyImage => (
                "x_t: what the model sees at t",
                "x_t：模型在 t 时看到的图像",
            ),
            Text::Noise => ("ε: the noise", "ε：噪声"),
            Text::SignalAndNoise => ("How much photo, how much noise", "照片占多少，噪声占多少"),
            Text::SignalWeight => ("√ᾱ_t (weight of the photo)", "√ᾱ_t（照片的权重）"),
            Text::NoiseWeight => ("√(1−ᾱ_t) (weight of the noise)", "√(1−ᾱ_t)（噪声的权重）"),
            Text::LogSnr => ("log-SNR(t)", "对数信噪比 log-SNR(t)"),
            Text::Histogram => ("Pixel values", "像素值分布"),
            Text::HistogramOfXt => ("values of x_t", "x_t 的取值"),
            Text::StandardNormal => ("N(0, 1) density", "N(0, 1) 密度"),
            Text::NoisePartStd => (
                "Spread of the noise part x_t − √ᾱ_t·x0",
                "噪声部分 x_t − √ᾱ_t·x0 的标准差",
            ),
            Text::Expected => ("expected", "理论值"),
            Text::Measured => ("measured", "实测值"),
            Text::WalkingChain => ("Walking the chain", "正在沿链行走"),
            Text::WalkResolution => (
                "Every step is kept so you can scrub back; the walk runs at",
                "为了能来回拖动，每一步都会保存；链的分辨率为",
            ),
            Text::SignalLeftWarning => (
                "Even at t = T some of the photo is left: this schedule does not reach pure noise.",
                "即使在 t = T，照片仍有残留：这个调度没有达到纯噪声。",
            ),
            Text::WhatAmILookingAt => ("What am I looking at?", "我在看什么？"),
            Text::ForwardExplanation => (
                "A diffusion model learns to remove noise. To train it, we first need noisy pictures, and this \
                 view shows how they are made.\n\n\
                 Left: a clean photo x0. Right: pure noise ε, random numbers from a bell curve. Middle: x_t, a \
                 blend of the two. The slider t decides the blend: at t = 0 it is all photo, at t = T (almost) \
                 all noise.\n\n\
                 The recipe is x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε. The two weights are plotted below: as t grows the \
                 photo's weight falls and the noise's weight rises, and their squares always add up to 1, so \
                 the picture never gets brighter or darker overall. The noise schedule decides how fast this \
                 happens: compare linear and cosine.\n\n\
                 You could also add a little noise at a time, step after step (\"walk step by step\"). The \
                 result looks different pixel by pixel, but it is statistically the same: the spread of the \
                 noise part matches the formula. That is why training can jump to any t in one go.\n\n\
                 The histogram shows the pixel values of x_t: at t = T they follow the bell curve N(0, 1) \
                 drawn on top. That bell curve is where generation will start.",
                "扩散模型学习的是去除噪声。为了训练它，我们先需要带噪声的图片，这个视图展示它们是怎么做出来的。\n\n\
                 左边：干净的照片 x0。右边：纯噪声 ε，即从钟形曲线中抽取的随机数。中间：x_t，两者的混合。\
                 滑块 t 决定混合比例：t = 0 时全是照片，t = T 时（几乎）全是噪声。\n\n\
                 公式是 x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε。下方画出了这两个权重：随着 t 增大，照片的权重下降，\
                 噪声的权重上升，而它们的平方之和始终为 1，所以图像整体不会变亮或变暗。噪声调度决定这个过程有多快：\
                 比较一下线性和余弦调度。\n\n\
                 也可以每次只加一点噪声，一步接一步（“一步一步走”）。结果在每个像素上看起来不同，但在统计上是一样的：\
                 噪声部分的标准差与公式相符。这就是训练时可以一次跳到任意 t 的原因。\n\n\
                 直方图显示 x_t 的像素值：在 t = T 时，它们服从图上画出的钟形曲线 N(0, 1)。生成过程正是从这条钟形曲线开始的。",
            ),
            Text::Details => ("Details", "详细信息"),
            Text::Dismiss => ("Dismiss", "关闭提示"),
            Text::Loading => ("Loading…", "正在加载…"),
            Text::DropToOpen => ("Drop the image to open it", "松开鼠标即可打开图片"),
            Text::ExportTitle => ("Export the sweep as a GIF", "将扫描过程导出为 GIF"),
            Text::Frames => ("Frames", "帧数"),
            Text::FramesPerSecond => ("Frames per second", "每秒帧数"),
            Text::Width => ("Width (pixels)", "宽度（像素）"),
            Text::Loop => ("Loop", "循环"),
            Text::LoopForever => ("for ever", "无限循环"),
            Text::LoopOnce => ("play once", "只播放一次"),
            Text::LoopTimes => ("extra repeats", "额外重复次数"),
            Text::Export => ("Export…", "导出…"),
            Text::Cancel => ("Cancel", "取消"),
            Text::Exporting => ("Exporting", "正在导出"),
            Text::Close => ("Close", "关闭"),
            Text::AboutText => (
                "Diffuscope shows how diffusion models turn noise into pictures, one step at a time. \
                 It runs offline and ships everything it needs.",
                "Diffuscope 展示扩散模型如何一步一步把噪声变成图片。它可以离线运行，所需的一切都已随程序附带。",
            ),
            Text::Credits => (
                "Photos: Stefan van der Walt, Rachel Michetti (CC0), NASA (public domain), via scikit-image. \
                 Handwritten digits: MNIST, by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0). \
                 Chinese font: Noto Sans CJK SC (SIL Open Font License 1.1).",
                "照片：Stefan van der Walt、Rachel Michetti（CC0），NASA（公有领域），来自 scikit-image。\
                 手写数字：MNIST，作者 Yann LeCun、Corinna Cortes 与 Christopher J.C. Burges（CC BY-SA 3.0）。\
                 中文字体：Noto Sans CJK SC（SIL 开放字体许可证 1.1）。",
            ),
            Text::BackgroundFailed => (
                "A background task stopped unexpectedly; please try again.",
                "后台任务意外停止，请重试。",
            ),
            Text::JobNotStarted => (
                "This could not start: the system would not start another thread. Please try \
                 again.",
                "无法开始：系统不允许启动新的线程，请稍后再试。",
            ),
            Text::ResetToDefaults => ("Reset to defaults", "恢复默认设置"),
            Text::ResetToDefaultsHint => (
                "Put every choice of this view back as it was on first start (the picture stays)",
                "把本视图的所有选项恢复为首次启动时的样子（图片保留）",
            ),
            Text::PlaySpeedHint => (
                "Replay speed: 1× plays the whole sweep in 8 seconds, by the clock",
                "播放速度：1× 表示按时钟用 8 秒播放完整个过程",
            ),
            Text::CompareSchedules => ("Show the other schedules", "同时显示其他调度"),
            Text::ComparedDashed => (
                "Dashed, for comparison (same T):",
                "对照：其他调度（相同的 T）：",
            ),
            Text::CompareSchedulesHint => (
                "Draw the other schedules' curves faintly behind this one, with the same T",
                "在当前曲线后面淡淡地画出其他调度（相同的 T）的曲线",
            ),
        };
        self.pick(en, zh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_choose_the_language() {
        assert_eq!(Lang::from_tag("zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_tag("zh_Hans"), Lang::Zh);
        assert_eq!(Lang::from_tag("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::from_tag("de-DE"), Lang::En);
    }
}
