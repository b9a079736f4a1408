// goprog is the Go case of the apps matrix (scripts/compat): built natively
// with Debian's golang-go, then run natively and inside moat. It exercises the
// Go runtime (threads, goroutines, channels), the file system and formatting.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

func main() {
	// Goroutines and a channel: the runtime starts threads (clone) for these.
	results := make(chan int, 8)
	var wg sync.WaitGroup
	for i := 1; i <= 8; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			results <- n * n
		}(i)
	}
	wg.Wait()
	close(results)
	sum := 0
	for v := range results {
		sum += v
	}
	fmt.Printf("sum of squares 1..8: %d\n", sum)

	words := strings.Fields("the quick brown fox jumps over the lazy dog")
	sort.Strings(words)
	fmt.Printf("sorted: %s\n", strings.Join(words, " "))
	fmt.Printf("sha256: %x\n", sha256.Sum256([]byte(strings.Join(words, ","))))

	// Read a file given on the command line, if any.
	if len(os.Args) > 1 {
		data, err := os.ReadFile(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "goprog:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d bytes, %d lines\n", os.Args[1], len(data), strings.Count(string(data), "\n"))
	}
}
