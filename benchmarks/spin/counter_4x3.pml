/* refsim's counter: 4 threads x 3 `counter += 1`, each LOAD_GLOBAL, BINARY_OP,
   STORE_GLOBAL as three atomic steps; the verifier explores every reachable state. */
byte counter = 0;
proctype T() {
    byte reg; byte i = 0;
    do
    :: i < 3 -> reg = counter; reg = reg + 1; counter = reg; i++
    :: else -> break
    od
}
init { atomic { run T(); run T(); run T(); run T() } }
