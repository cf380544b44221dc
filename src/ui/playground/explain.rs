//! What the Playground's right-hand panel says beside each tab, in English and Chinese.

pub(super) const DIFFUSION_EN: &str = "Each grey dot is one data point: a 2-D \"image\" with two pixels. \
Drag t to the right: every point moves a little towards the origin and a little along its own \
fixed noise, x_t = a·x0 + s·ε, until at t = T the data is a round Gaussian cloud. With T = 10 or \
50 the end is not yet a Gaussian: the reverse process then starts from noise that is not what it \
saw in training.\n\n\
Train teaches a small network (three residual layers of 64 units) to undo one noise level at a \
time, with the same objectives as the digit models: predict the noise ε, predict v, or predict \
the flow velocity ε − x0. Blue dots are samples drawn from fixed noise by the model as it is now, \
redrawn as it learns; orange lines are the paths of 24 of them, from noise (step 0) to the end. \
Drag the reverse scrubber to watch the cloud fold onto the data.\n\n\
The loss does not go to zero: from a noisy point the network can only guess the average of the \
clean points that could have made it. That average, x̂0, is what the arrows of the field point \
at: near t = T they all point to the middle of the data, near t = 0 to the nearest data point.\n\n\
A grid in the noise: a square mesh of starting points carried by the same sampler. Scrub the \
reverse steps and watch it fold onto the data: where the mesh stretches, a little noise makes \
much data; where it bunches, much noise lands on little. The contours ring the densest half, \
80 % and 95 % of the samples.\n\n\
Click a sample to trace its whole path. The dashed line is one big step from its noise (one \
network call: the model's first guess of x0); the dotted gap is how far that lands from where \
the many small steps end. That gap is why samplers take many steps.";

pub(super) const DIFFUSION_ZH: &str = "每个灰点是一个数据点：一张只有两个像素的二维“图像”。\
向右拖动 t：每个点都向原点靠近一点，并沿着它自己固定的噪声方向移动一点，x_t = a·x0 + s·ε，\
直到 t = T 时数据变成一团圆形的高斯云。若 T = 10 或 50，终点还不是高斯分布：\
反向过程就要从训练时没见过的噪声出发。\n\n\
“训练”教一个小网络（三层 64 单元的残差层）一次去掉一个噪声等级，目标与数字模型相同：\
预测噪声 ε、预测 v，或预测流速度 ε − x0。蓝点是模型以当前状态从固定噪声采样得到的样本，\
随着学习不断重画；橙线是其中 24 个样本从噪声（第 0 步）到终点的路径。\
拖动反向滑块，看噪声云如何折叠到数据上。\n\n\
损失不会降到零：从一个带噪的点出发，网络只能猜测可能产生它的所有干净点的平均值。\
这个平均值 x̂0 就是场中箭头所指之处：接近 t = T 时它们都指向数据的中心，接近 t = 0 时指向最近的数据点。\n\n\
噪声中的网格：由起点组成的方形网格，被同一个采样器带着走。拖动反向步数，看它如何折叠到数据上：\
网格被拉开的地方，少量噪声生成大量数据；网格挤在一起的地方，大量噪声落到少量数据上。\
等高线圈出样本最密集的一半、80 % 和 95 %。\n\n\
点击一个样本，描出它的完整路径。虚线是从它的噪声出发的一大步（一次网络调用：模型对 x0 的第一次猜测）；\
点线是这一步的落点与许多小步的终点之间的差距。正是这个差距，让采样器需要走很多步。";

pub(super) const COMPARISON_EN: &str = "Three ways to learn the same points, trained at once on the same data \
with about the same number of weights.\n\n\
GAN: a generator turns 2-D noise into points in one network call; a discriminator (the \
background: green where it says \"real\", red where it says \"made up\") learns to tell them \
from the data, and the generator learns to fool it. Nothing rewards covering every mode: on the \
eight Gaussians it often settles on a few, with strings of points between them (mode collapse). \
Try other seeds.\n\n\
VAE: an encoder squeezes each point into a 2-D Gaussian code, a decoder turns codes back into \
points. Sampling decodes random codes in one call, but codes between two modes decode to points \
between them: the VAE smears the modes together.\n\n\
Diffusion: one network asked many times (here 50 calls a sample) removes noise a little at a \
time. It is slower to sample but covers every mode: the slow, careful way is why diffusion won.\n\n\
The pink arrows under the VAE run from data points to its reconstructions: even what it has \
seen comes back pulled towards its neighbours, blurred.";

pub(super) const COMPARISON_ZH: &str = "用三种方法学习同一组点：在同一份数据上同时训练，权重数量大致相同。\n\n\
GAN：生成器用一次网络调用把二维噪声变成点；判别器（背景：绿色表示它认为“真实”，红色表示“伪造”）\
学习把它们和数据区分开，生成器则学习骗过判别器。没有任何东西奖励覆盖所有模式：在八个高斯上，\
它常常只停在其中几个，中间拖着一串点（模式坍塌）。换几个种子试试。\n\n\
VAE：编码器把每个点压缩成二维高斯编码，解码器再把编码变回点。采样时一次调用解码随机编码，\
但位于两个模式之间的编码会被解码成两者之间的点：VAE 把各个模式抹在了一起。\n\n\
扩散：同一个网络被反复调用（这里每个样本 50 次），每次去掉一点噪声。采样更慢，\
但能覆盖每一个模式：这种缓慢而细致的方式正是扩散模型胜出的原因。\n\n\
VAE 下方的粉色箭头从数据点指向它的重建：即使是它见过的点，重建出来也会被拉向邻近的点，变得模糊。";

pub(super) const PATHS_EN: &str = "Two models learn the same data: one predicts the noise ε, one the flow \
velocity ε − x0. Both start their samples from the same noise; the lines are the paths of 24 of \
them.\n\n\
Pink: the ε model under DDPM, which adds fresh noise at every step: the paths wander. Blue: the \
same model under DDIM, which adds none: smooth curves, and the same noise lands near the same \
place. Orange: the flow model under Euler. Flow matching is trained on straight lines from each \
noise to a data point, but the lines of different pairs cross, and where they cross the model \
can only learn their average direction: its paths bend too. Making them straight takes one more \
idea, \"reflow\": train again on the model's own (noise, sample) pairs, whose lines no longer \
cross.\n\n\
The figure under each set is the length of a path divided by the distance from its start to its \
end: 1 is a straight line. The straighter the paths, the fewer big steps a sampler needs. \
\"One big step misses by\" is the mean distance from where one network call lands to where all \
the steps end. The ε model's one big step misses by far: from pure noise it must divide its \
guess of the noise by a tiny √ᾱ_T, and a small error becomes a large one.\n\n\
Press Reflow once the flow model's samples look right: a new flow model (green) learns the \
straight lines from each noise to where the flow model took it. Those lines do not cross, so its \
paths are nearly straight and one big step lands close to the end: the idea behind rectified \
flow and few-step models.";

pub(super) const PATHS_ZH: &str = "两个模型学习同一份数据：一个预测噪声 ε，一个预测流速度 ε − x0。\
它们从同一份噪声出发采样；这些线是其中 24 个样本的路径。\n\n\
粉色：ε 模型配 DDPM，每一步都加入新的噪声，路径弯弯绕绕。蓝色：同一个模型配 DDIM，不加噪声，\
是平滑的曲线，同样的噪声会落到相近的地方。橙色：流模型配 Euler。流匹配是在从每个噪声到一个数据点的\
直线上训练的，但不同配对的直线会相交，在相交处模型只能学到它们的平均方向：所以它的路径也会弯曲。\
要让路径变直还需要一个想法——“重流”：用模型自己生成的（噪声，样本）配对再训练一次，这些直线就不再相交。\n\n\
每组下面的数字是路径长度除以起点到终点的距离：1 表示直线。路径越直，采样器需要的大步就越少。\
“一大步偏差”是一次网络调用的落点与走完所有步的终点之间的平均距离。ε 模型的一大步偏差很大：从纯噪声出发，它必须用一个极小的 √ᾱ_T 去除它对噪声的猜测，微小的误差因此被放大。\n\n\
当流模型的样本看起来对了，按“重流”：一个新的流模型（绿色）学习从每个噪声到流模型把它带到之处的直线。\
这些直线不再相交，所以它的路径几乎是直的，一大步就能落在终点附近：这正是整流（rectified flow）和少步模型背后的想法。";
