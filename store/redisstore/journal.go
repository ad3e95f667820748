package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	store "github.com/flowbridge/flowbridge/store/storeapi"
)

// journalFn applies one store.Entry inside a script: journal(ki, ai) reads
// the entry's keys from KEYS[ki...] and its arguments from ARGV[ai...] and
// returns the ARGV index after them. It is the one Lua copy of the
// timeline's write: the claim and completion scripts carry it, and
// journalScript runs it alone (timeline.RedisStore.Append).
//
// KEYS: list, hash, [index], [links...]
// ARGV: item, max items, ttl ms, #setnx, #set, #setif, #incr, setnx
// pairs, set pairs, setif triples, incr fields, "1" index score trim
// member | "0", #links [link ttl ms, link value].
const journalFn = `
local function journal(ki, ai)
  local list, hash = KEYS[ki], KEYS[ki + 1]
  local ttl = ARGV[ai + 2]
  redis.call('RPUSH', list, ARGV[ai])
  redis.call('LTRIM', list, -tonumber(ARGV[ai + 1]), -1)
  redis.call('PEXPIRE', list, ttl)
  local nnx, nset, nif, ninc = tonumber(ARGV[ai + 3]), tonumber(ARGV[ai + 4]), tonumber(ARGV[ai + 5]), tonumber(ARGV[ai + 6])
  local i = ai + 7
  for _ = 1, nnx do
    redis.call('HSETNX', hash, ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  if nset > 0 then
    redis.call('HSET', hash, unpack(ARGV, i, i + 2 * nset - 1))
    i = i + 2 * nset
  end
  for _ = 1, nif do
    if redis.call('HGET', hash, ARGV[i]) == ARGV[i + 1] then
      redis.call('HSET', hash, ARGV[i], ARGV[i + 2])
    end
    i = i + 3
  end
  for _ = 1, ninc do
    redis.call('HINCRBY', hash, ARGV[i], 1)
    i = i + 1
  end
  redis.call('PEXPIRE', hash, ttl)
  local k = ki + 2
  if ARGV[i] == '1' then
    redis.call('ZADD', KEYS[k], ARGV[i + 1], ARGV[i + 3])
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. ARGV[i + 2])
    k = k + 1
    i = i + 4
  else
    i = i + 1
  end
  local nl = tonumber(ARGV[i])
  if nl > 0 then
    for j = 0, nl - 1 do
      redis.call('SET', KEYS[k + j], ARGV[i + 2], 'PX', ARGV[i + 1])
    end
    i = i + 3
  else
    i = i + 1
  end
  return i
end
`

// journalScript: one entry, keys and arguments from the first.
var journalScript = redis.NewScript(journalFn + `
journal(1, 1)
return 1
`)

// journalKeys appends e's keys; side says whether the index and links go
// in the script (false in a Cluster, where they are other slots).
func journalKeys(keys []string, e store.Entry, side bool) []string {
	keys = append(keys, e.List, e.Hash)
	if side {
		if e.Index != "" {
			keys = append(keys, e.Index)
		}
		keys = append(keys, e.Links...)
	}
	return keys
}

// journalArgs appends e's arguments (journalFn's layout).
func journalArgs(args []any, e store.Entry, side bool) []any {
	args = append(args, e.Item, e.MaxItems, ms(e.TTL), len(e.SetNX)/2, len(e.Set)/2, len(e.SetIf)/3, len(e.Incr))
	for _, part := range [][]string{e.SetNX, e.Set, e.SetIf, e.Incr} {
		for _, v := range part {
			args = append(args, v)
		}
	}
	if side && e.Index != "" {
		args = append(args, "1", e.IndexScore, e.IndexTrim, e.IndexMember)
	} else {
		args = append(args, "0")
	}
	if side && len(e.Links) > 0 {
		args = append(args, len(e.Links), ms(e.LinkTTL), e.LinkValue)
	} else {
		args = append(args, 0)
	}
	return args
}

// sideWrites queues the index and link writes of e that a Cluster cannot
// run in the record's script.
func sideWrites(ctx context.Context, p redis.Pipeliner, e store.Entry) {
	if e.Index != "" {
		p.ZAdd(ctx, e.Index, redis.Z{Score: float64(e.IndexScore), Member: e.IndexMember})
		p.ZRemRangeByScore(ctx, e.Index, "-inf", "("+strconv.FormatInt(e.IndexTrim, 10))
	}
	for _, l := range e.Links {
		p.Set(ctx, l, e.LinkValue, e.LinkTTL)
	}
}

func hasSide(e store.Entry) bool { return e.Index != "" || len(e.Links) > 0 }

var errBadEntry = errors.New("redis journal: invalid entry")

func checkEntry(e store.Entry) error {
	if !e.Valid() {
		return errBadEntry
	}
	return nil
}

// sameKeys: a claim's two entries are applied with one key list.
func sameKeys(a, b store.Entry) bool {
	return a.List == b.List && a.Hash == b.Hash && a.Index == b.Index && slices.Equal(a.Links, b.Links)
}

// cluster: the index and links cannot share a script with the record.
func (s *Store) cluster() bool {
	_, ok := s.c.(*redis.ClusterClient)
	return ok
}

// AppendEntry writes one journal entry on its own (AppendEntries with
// one entry: one round trip).
func AppendEntry(ctx context.Context, c redis.UniversalClient, e store.Entry) error {
	return AppendEntries(ctx, c, []store.Entry{e})
}

// AppendEntries writes several journal entries in one pipeline (one round
// trip): the timeline's background writers send what has queued up
// together. Each entry is applied once: when the server does not know the
// script yet (NOSCRIPT), it is loaded and only the entries refused for
// that are sent again. It returns the first error.
func AppendEntries(ctx context.Context, c redis.UniversalClient, es []store.Entry) error {
	for _, e := range es {
		if err := checkEntry(e); err != nil {
			return err
		}
	}
	_, cluster := c.(*redis.ClusterClient)
	todo := es
	for try := 0; try < 2 && len(todo) > 0; try++ {
		cmds := make([]*redis.Cmd, len(todo))
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, e := range todo {
				cmds[i] = journalScript.EvalSha(ctx, p, journalKeys(nil, e, !cluster), journalArgs(nil, e, !cluster)...)
				if cluster {
					sideWrites(ctx, p, e)
				}
			}
			return nil
		})
		if err == nil {
			return nil
		}
		var again []store.Entry
		for i, cmd := range cmds {
			if cerr := cmd.Err(); cerr != nil {
				if !redis.HasErrorPrefix(cerr, "NOSCRIPT") {
					return fmt.Errorf("redis journal: %w", cerr)
				}
				again = append(again, todo[i])
			}
		}
		if len(again) == 0 {
			// Only a side write failed (Cluster): best effort, as in
			// Complete.
			return nil
		}
		if lerr := journalScript.Load(ctx, c).Err(); lerr != nil {
			return fmt.Errorf("redis journal: %w", lerr)
		}
		todo = again
	}
	if len(todo) > 0 {
		return errors.New("redis journal: script not loaded")
	}
	return nil
}
