// Package store is imsps's durable storage: an as.Store on one bbolt file. It owns the file,
// creates the buckets that package as names, and group-commits concurrent updates so that
// every acknowledged write is on disk without one fsync per request.
package store
