/* The module's entry: what every backend that loads quant.so sets up once. */
#include "quant_pg.h"

#include "miscadmin.h"

#include "auth.h"

PG_MODULE_MAGIC;

void _PG_init(void);

static int
interrupt_pending(void)
{
	return InterruptPending ? 1 : 0;
}

void
_PG_init(void)
{
	quant_set_interrupt_check(interrupt_pending);
	quant_user_context_init();
}
