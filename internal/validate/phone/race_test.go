//go:build race

package phone

func init() { stride = 7 }
