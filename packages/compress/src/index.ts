export {
  RateShaper,
  DEFAULT_LWM_BPS,
  DEFAULT_HWM_BPS,
  defaultWindowBytes,
  type RateShaperOptions,
  type RateShaperStats,
  type ShaperVerdict,
} from './rate-shaper.js';
export {
  compressFrame,
  encodeCompressedFrame,
  inflateFrame,
  inflateFrameRecords,
  type CompressFrameOptions,
  type EncodeCompressedFrameOptions,
  type InflateFrameOptions,
} from './frame-deflate.js';
export { shapeFrame, type FrameToShape } from './shape-frame.js';
export {
  LegacyShaper,
  LEGACY_DEFAULT_FLUSH_MS,
  LEGACY_DEFAULT_MAX_PENDING_BYTES,
  type LegacyShaperOptions,
  type LegacyShaperStats,
  type ShaperTimers,
} from './legacy-shaper.js';
export {
  decodeLegacyShaped,
  LEGACY_SHAPED_PLAIN,
  LEGACY_SHAPED_ZLIB,
  LEGACY_WINDOW_LENGTH_BYTES,
  LEGACY_DEFAULT_MAX_INFLATED_BYTES,
  type DecodeLegacyShapedOptions,
} from './decode-legacy-shaped.js';
export {
  addRateControlOptions,
  shaperOptionsFrom,
  rateControlUsage,
  type RateControlOptions,
  type CommandLike,
} from './rate-control-options.js';
export { COMPRESS_ERROR_CODES, ShaperRangeError, type CompressErrorCode } from './errors.js';
export { QueuedPusher, type QueuedPusherOptions, type QueuedPusherStats } from './queued-pusher.js';
