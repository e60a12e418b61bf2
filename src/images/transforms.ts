import { random, type Random } from '../train/random.js';

/**
 * The geometry of the image transforms, as torchvision defines them (transforms.py and
 * functional.py of torchvision 0.14, which Debian ships): where a training crop is taken
 * (RandomResizedCrop), whether it is flipped (RandomHorizontalFlip), and the evaluation's
 * resize of the short side and centre crop (Resize + CenterCrop). Pure arithmetic on
 * sizes; decode.ts moves the pixels.
 *
 * Sizes are in pixels, `height` before `width` as torchvision writes them; a box is its
 * top row, left column, height and width in the image it is cut from.
 */

/** A rectangle of an image: top row, left column, height, width (pixels). */
export interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** RandomResizedCrop's ranges: of the crop's area as a fraction of the image's, and of its aspect ratio (width / height). */
export interface ResizedCrop {
  scale: [number, number];
  ratio: [number, number];
}

/** torchvision's defaults (Szegedy et al. 2015's Inception crop): 8%–100% of the area, aspect 3/4–4/3. */
export const inceptionCrop: ResizedCrop = { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] };

/** Python's round(): halves go to the even neighbour (round(2.5) = 2, round(3.5) = 4). */
export function pythonRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The crop box RandomResizedCrop.get_params draws for an image of `height` x `width`:
 * up to 10 tries of an area uniform in scale × (height·width) and an aspect ratio
 * log-uniform in `ratio`, w = round(√(area·ratio)), h = round(√(area/ratio)); the first
 * that fits is placed uniformly (top in 0..height−h, left in 0..width−w). When none fits,
 * the centre crop of the whole image clamped to the ratio range. `rand` gives uniform
 * numbers in [0, 1): four per try that fits (area, ratio, top, left), two per try that
 * does not — the order torchvision draws them in.
 */
export function randomResizedCropBox(height: number, width: number, rand: () => number, crop: ResizedCrop = inceptionCrop): Box {
  const area = height * width;
  const logLow = Math.log(crop.ratio[0]);
  const logHigh = Math.log(crop.ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (crop.scale[0] + (crop.scale[1] - crop.scale[0]) * rand());
    const aspect = Math.exp(logLow + (logHigh - logLow) * rand());
    const w = pythonRound(Math.sqrt(targetArea * aspect));
    const h = pythonRound(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = Math.floor(rand() * (height - h + 1));
      const left = Math.floor(rand() * (width - w + 1));
      return { top, left, height: h, width: w };
    }
  }
  // The fallback: the central crop (transforms.py, "Fallback to central crop").
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...crop.ratio)) h = pythonRound(w / Math.min(...crop.ratio));
  else if (inRatio > Math.max(...crop.ratio)) w = pythonRound(h * Math.max(...crop.ratio));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * The short side an evaluation resizes an image to before its centre crop to the model's
 * `height` x `width`: torchvision's ImageNet recipe (Resize(256), CenterCrop(224), a crop
 * of 224/256 = 0.875 of the short side) scaled to the input, ⌊min(height, width) · 256/224⌋
 * (timm's crop_pct 0.875 rule): 224 → 256, 32 → 36, 28 → 32.
 */
export function evalResizeSize(height: number, width: number): number {
  return Math.floor((Math.min(height, width) * 256) / 224);
}

/**
 * The size Resize(size) gives an image of `height` x `width` (functional.py's
 * _compute_resized_output_size): the short side becomes `size`, the long side
 * int(size · long / short) (truncated), the aspect kept.
 */
export function resizeShortSide(height: number, width: number, size: number): { height: number; width: number } {
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { height: size, width: Math.trunc((size * width) / height) };
}

/**
 * Where CenterCrop((cropHeight, cropWidth)) cuts an image of `height` x `width`
 * (functional.py's center_crop): top = round((height − cropHeight) / 2), left likewise
 * (Python's rounding). An image smaller than the crop is first padded with zeros,
 * ⌊(crop − size)/2⌋ before and the rest after, so the box's top or left is then negative:
 * rows and columns outside the image are zeros.
 */
export function centerCropBox(height: number, width: number, cropHeight: number, cropWidth: number): Box {
  const along = (size: number, crop: number): number => {
    if (crop > size) return 0 - Math.floor((crop - size) / 2);
    return pythonRound((size - crop) / 2);
  };
  return { top: along(height, cropHeight), left: along(width, cropWidth), height: cropHeight, width: cropWidth };
}

/**
 * The generator of one image's augmentation in one epoch: a function of the run's seed,
 * the epoch and the image's index in its split only, so images can be decoded in any
 * order, several at once, and a resumed run draws what the uninterrupted one drew.
 */
export function imageRandom(seed: number, epoch: number, index: number): Random {
  let h = Math.imul(seed + 0x632be5ab, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ Math.imul(index + 1, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return random((h ^ (h >>> 12)) | 0);
}

/** One training image's augmentation: the crop box (RandomResizedCrop) and whether to flip it (RandomHorizontalFlip, p = 0.5). */
export interface TrainAugmentation {
  box: Box;
  flip: boolean;
}

/** The crop and flip of image `index` in `epoch` of a run seeded `seed`, for an image of `height` x `width`. */
export function trainAugmentation(height: number, width: number, seed: number, epoch: number, index: number, crop: ResizedCrop | undefined, flip: boolean): TrainAugmentation {
  const rand = imageRandom(seed, epoch, index);
  const box = crop ? randomResizedCropBox(height, width, rand, crop) : { top: 0, left: 0, height, width };
  return { box, flip: flip && rand() < 0.5 };
}
