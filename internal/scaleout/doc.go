// Package scaleout holds the scale-out test: a duplicate storm of simulated
// Flow requests from several replicas against a real Redis Cluster and a
// real Sentinel setup, with a master failover in the middle of the run.
//
// The test is behind the build tag "scaleout" because it needs the Redis
// topologies that scripts/scaleout starts; the normal suite never builds
// it. Run it with scripts/scaleout.
package scaleout
