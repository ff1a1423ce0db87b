#include "call.h"
size_t nr_session_shutdown(struct nr_session *session, bool force)
{
	return session->live;
}
