package timeline

// Sizes of the Recorder's bounded maps, for the tests of their bounds.

func LinkCacheLen(r *Recorder) int { return r.cache.len() }
func FoldLen(r *Recorder) int      { return r.folds.len() }
