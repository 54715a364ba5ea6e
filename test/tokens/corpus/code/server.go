package main

import (
	"encoding/json"
	"log"
	"net/http"
	"sync"
	"time"
)

type counter struct {
	mu    sync.Mutex
	hits  map[string]int
	since time.Time
}

func newCounter() *counter {
	return &counter{hits: make(map[string]int), since: time.Now()}
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" {
		http.Error(w, "missing key", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.hits[key]++
	n := c.hits[key]
	c.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(map[string]any{
		"key":   key,
		"hits":  n,
		"since": c.since.Format(time.RFC3339),
	}); err != nil {
		log.Printf("encode: %v", err)
	}
}

func main() {
	mux := http.NewServeMux()
	mux.Handle("/count", newCounter())
	srv := &http.Server{
		Addr:         "127.0.0.1:8080",
		Handler:      mux,
		ReadTimeout:  5 * time.Second,
		WriteTimeout: 10 * time.Second,
	}
	log.Fatal(srv.ListenAndServe())
}
